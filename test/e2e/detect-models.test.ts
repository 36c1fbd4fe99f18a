import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DetectResponse, ErrorResponse, MAX_MODELS_PER_REQUEST, ModelCard } from '@genimage/shared'
import { createDb, type Db, detections } from '@genimage/shared/db'
import { OnnxGraphBuilder } from '@genimage/shared/onnx'
import { handmadeInputConfig, writeHandmadeModel } from '@genimage/training/export'
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { firstShippedPhoto, type Started, startGenimage } from '../support/processes.ts'

const ATTRIBUTION_LABELS = ['nature', 'sdv14', 'midjourney', 'biggan']

/**
 * A tiny attribution model folder: logits = mean(pixels) · w + b over four labels, so the runner's softmax gives
 * nature plus three generator probabilities that depend on the image. A fixture for the answer's shape, not a detector.
 */
async function writeAttributionModel(dir: string): Promise<void> {
  const size = 64
  const b = new OnnxGraphBuilder({ docString: 'test fixture: mean pixel to four logits' })
  const image = b.input('image', 'float32', ['N', 3, size, size])
  const mean = b.node('Flatten', [b.reduce('ReduceMean', image, [1, 2, 3])], { axis: 1 })
  const logits = b.node('Add', [b.node('MatMul', [mean, b.constFloat([0.5, 2, -1.5, 1], [1, 4])]), b.constFloat([0.2, 0.4, 0.1, -0.3])])
  b.output(b.node('Identity', [logits], {}, { output: 'logits' }), 'float32', ['N', 4])
  const bytes = b.toBytes()
  const card = ModelCard.parse({
    name: 'attribution-fixture',
    version: '1',
    description: 'Test fixture: four logits from the mean pixel; not a detector.',
    architecture: 'mean-pixel-linear',
    task: 'attribution',
    labels: ATTRIBUTION_LABELS,
    file: 'model.onnx',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    input: handmadeInputConfig(size),
    output: { name: 'logits' },
    provenance: { kind: 'handmade', createdAt: '2026-12-03T00:00:00Z', command: 'test/e2e/detect-models.test.ts' },
    trainedOn: 'nothing: weights written by hand for a test',
    metrics: [],
  })
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'model.onnx'), bytes)
  await writeFile(join(dir, 'card.json'), `${JSON.stringify(card, null, 2)}\n`)
}

let work: string
let runner: Started
let edge: Started
let db: Db
let jpeg: Buffer

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'genimage-e2e-models-'))
  await writeHandmadeModel(join(work, 'models/npr-residual-handmade'), { createdAt: '2026-12-03T00:00:00Z' })
  await writeAttributionModel(join(work, 'models/attribution-fixture'))
  jpeg = (await firstShippedPhoto()).photo
  const databaseUrl = `file:${join(work, 'genimage.db')}`
  runner = await startGenimage('runner', { RUNNER_PORT: '0', MODEL_DIR: join(work, 'models'), EXECUTION_PROVIDERS: 'cpu' })
  edge = await startGenimage('edge', { PORT: '0', RUNNER_URLS: runner.url, DATABASE_URL: databaseUrl, MAX_REQUEST_BYTES: String(4 * 1024 * 1024) })
  db = await createDb(databaseUrl)
})

afterAll(async () => {
  db?.$client.close()
  await edge?.stop()
  await runner?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

const detect = (models: string[]) => {
  const form = new FormData()
  form.append('image', new Blob([jpeg as Uint8Array<ArrayBuffer>]), 'photo.jpg')
  for (const model of models) form.append('model', model)
  return fetch(`${edge.url}/v1/detect`, { method: 'POST', body: form })
}

describe('detect with several models end to end: edge → one runner serving two ONNX models → libSQL', () => {
  it('answers each named model from the real runner and records a row per model', async () => {
    const res = await detect(['attribution-fixture', 'npr-residual-handmade'])
    expect(res.status).toBe(200)
    const body = DetectResponse.parse(await res.json())
    expect(body.results?.map((r) => r.model.name)).toEqual(['attribution-fixture', 'npr-residual-handmade'])
    const [attribution, binary] = body.results ?? []
    const image = attribution?.images[0]
    const generators = image?.generators ?? []
    expect(generators.map((g) => g.name).sort()).toEqual(['biggan', 'midjourney', 'sdv14'])
    const probabilities = generators.map((g) => g.probability)
    expect(probabilities).toEqual([...probabilities].sort((a, b) => b - a))
    expect(probabilities.reduce((s, p) => s + p, 0)).toBeCloseTo(image?.ai_generated ?? -1, 5)
    expect(image?.ai_generated).toBeCloseTo(1 - (image?.scores.nature ?? 0), 6)
    expect(binary?.images[0]?.generators).toBeUndefined()
    expect(binary?.images[0]?.sha256).toBe(image?.sha256)
    const rows = await db.select().from(detections).where(eq(detections.requestId, body.id))
    expect(rows.map((r) => r.modelName).sort()).toEqual(['attribution-fixture', 'npr-residual-handmade'])
    expect(rows.find((r) => r.modelName === 'npr-residual-handmade')?.aiGenerated).toBeCloseTo(binary?.images[0]?.ai_generated ?? -1, 6)
  })

  it('answers one named model exactly as a single-model request, without results', async () => {
    const body = (await (await detect(['npr-residual-handmade'])).json()) as Record<string, unknown>
    expect(body.results).toBeUndefined()
    expect(DetectResponse.parse(body).model.name).toBe('npr-residual-handmade')
  })

  it('refuses an unknown model (404) and too many models (400) without writing rows', async () => {
    const before = (await db.select().from(detections)).length
    const unknown = await detect(['npr-residual-handmade', 'no-such-model'])
    expect(unknown.status).toBe(404)
    expect(ErrorResponse.parse(await unknown.json()).error.code).toBe('model_not_found')
    const tooMany = await detect(['npr-residual-handmade', 'attribution-fixture', 'a', 'b', 'c'].slice(0, MAX_MODELS_PER_REQUEST + 1))
    expect(tooMany.status).toBe(400)
    expect(ErrorResponse.parse(await tooMany.json()).error.code).toBe('invalid_request')
    expect(await db.select().from(detections)).toHaveLength(before)
    expect(runner.alive() && edge.alive()).toBe(true)
  })
})
