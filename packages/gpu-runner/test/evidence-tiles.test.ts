import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeBinaryInferRequest, encodeBytesTensor, InferResponse, INPUT_STATISTICS_OUTPUT, type ModelEvidence } from '@genimage/shared'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { loadModelRepository, type ModelRepository } from '../src/repository/model-repository.ts'
import { aggregateTileRows } from '../src/server/evidence.ts'
import { createRunnerApp } from '../src/server/runner-app.ts'
import { sigmoid, writeBrightnessModel } from './brightness-model.ts'

// The brightness model answers P(ai) = sigmoid(2m), m the mean normalised pixel of its 16×16 input: a white tile
// scores sigmoid(2) = 0.881, a black one sigmoid(−2) = 0.119.
const WHITE = sigmoid(2)
const BLACK = sigmoid(-2)
const evidence = (aggregate: ModelEvidence['aggregate']): ModelEvidence => ({ mode: 'tiles', crop: 16, maxTiles: 16, aggregate, downscale: 'never' })

let dir: string
let repository: ModelRepository
/** 64 × 48 black with one white 16 × 16 square in the top-left corner: 1 of its 13 tiles (centre + 4 × 3) is white. */
let cornerPng: Buffer
let cornerJpeg: Buffer
let black: Buffer

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-evidence-'))
  const tiled = { resize: 'center-crop' as const, layout: 'NCHW' as const, height: 16, width: 16, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }
  await writeBrightnessModel(join(dir, 'max'), { name: 'tiles-max', input: { ...tiled, evidence: evidence({ rule: 'max' }) } as never })
  await writeBrightnessModel(join(dir, 'top3'), { name: 'tiles-top3', input: { ...tiled, evidence: evidence({ rule: 'mean-top-k', k: 3 }) } as never })
  await writeBrightnessModel(join(dir, 'plain'), { name: 'plain' })
  repository = await loadModelRepository(dir, { providers: ['cpu'], maxPixels: 1_000_000 })
  const pixels = Buffer.alloc(64 * 48 * 3)
  for (let y = 0; y < 16; y++) pixels.fill(255, y * 64 * 3, (y * 64 + 16) * 3)
  const image = sharp(pixels, { raw: { width: 64, height: 48, channels: 3 } })
  cornerPng = await image.clone().png().toBuffer()
  cornerJpeg = await image.clone().jpeg({ quality: 100 }).toBuffer()
  black = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#000000' } })
    .png()
    .toBuffer()
})
afterAll(() => rm(dir, { recursive: true, force: true }))

async function infer(model: string, images: Uint8Array[]): Promise<InferResponse> {
  const { app, close } = createRunnerApp({
    name: 't',
    version: '0',
    repository,
    maxBodyBytes: 1_000_000,
    serving: { batch: { maxBatchSize: 8, maxQueueDelayMs: 1, maxQueueSize: 10 }, decodeConcurrency: 2, inferenceWorker: false },
    log: () => {},
  })
  onTestFinished(close)
  const tensor = encodeBytesTensor(images)
  const { body, headers } = encodeBinaryInferRequest(
    { inputs: [{ name: 'image_bytes', datatype: 'BYTES', shape: [images.length], parameters: { binary_data_size: tensor.byteLength } }] },
    [tensor],
  )
  const response = await app.request(`/v2/models/${model}/infer`, { method: 'POST', body, headers })
  expect(response.status).toBe(200)
  return InferResponse.parse(await response.json())
}
const aiOf = (answer: InferResponse) => ((answer.outputs[0]?.data ?? []) as number[]).filter((_, i) => i % 2 === 1)

describe('evidence tiles in the runner', () => {
  it('aggregates tile rows by the rule: max takes the most ai-looking tile, mean-top-k the mean of the k most', () => {
    const rows = [0.9, 0.2, 0.6, 0.1].map((nature) => Float32Array.of(nature, 1 - nature))
    expect(Array.from(aggregateTileRows(rows, { rule: 'max' }, 0))).toEqual([Math.fround(0.1), Math.fround(0.9)])
    const top2 = aggregateTileRows(rows, { rule: 'mean-top-k', k: 2 }, 0)
    expect(top2[1]).toBeCloseTo((0.9 + 0.8) / 2, 6)
    expect(aggregateTileRows(rows, { rule: 'mean-top-k', k: 10 }, 0)[1]).toBeCloseTo((0.1 + 0.8 + 0.4 + 0.9) / 4, 6)
    const attribution = [Float32Array.of(0.5, 0.1, 0.4), Float32Array.of(0.2, 0.7, 0.1)]
    expect(Array.from(aggregateTileRows(attribution, { rule: 'max' }, 0))).toEqual(Array.from(attribution[1] as Float32Array))
  })

  it('answers one score per image from its tiles, by the card rule, PNG (sharp) and JPEG (native decoder) alike', async () => {
    const max = await infer('tiles-max', [cornerPng, cornerJpeg, black])
    expect(max.outputs[0]?.shape).toEqual([3, 2])
    const [png, jpeg, dark] = aiOf(max)
    expect(png).toBeCloseTo(WHITE, 5)
    expect(jpeg).toBeCloseTo(WHITE, 2)
    expect(dark).toBeCloseTo(BLACK, 5)
    const top3 = aiOf(await infer('tiles-top3', [cornerPng, cornerJpeg]))
    expect(top3[0]).toBeCloseTo((WHITE + 2 * BLACK) / 3, 5)
    expect(top3[1]).toBeCloseTo((WHITE + 2 * BLACK) / 3, 2)
    // The same image through a card without evidence: one stretched 16×16 tensor, the white corner diluted.
    expect(aiOf(await infer('plain', [cornerPng]))[0]).toBeCloseTo(sigmoid(2 * (-1 + 2 / 12)), 2)
  })

  it('reports the colour statistics of all the tiles the model saw', async () => {
    const answer = await infer('tiles-max', [cornerPng])
    const statistics = answer.outputs.find((o) => o.name === INPUT_STATISTICS_OUTPUT)
    if (!statistics) throw new Error('no input_statistics output')
    expect(statistics.shape).toEqual([1, 6])
    const [mean] = statistics.data as number[]
    expect(mean).toBeCloseTo(1 / 13, 5)
  })
})
