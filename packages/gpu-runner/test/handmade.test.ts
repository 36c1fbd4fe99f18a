import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ModelCard } from '@genimage/shared'
import * as ort from 'onnxruntime-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HANDMADE_AFFINE, buildHandmadeOnnx, writeHandmadeModel } from '@genimage/training/export'
import { softmaxRows } from '../src/inference/run-model.ts'
import { loadModel } from '../src/repository/model-repository.ts'
import { SeededRandom } from '@genimage/training/zoo'

const SIZE = 64
const PLANE = SIZE * SIZE
const rng = new SeededRandom(7)
const random = (n: number) => Float32Array.from({ length: n }, () => rng.next())

/** Random values on a 32×32 grid, each repeated over a 2×2 block: exactly what nearest ×2 up-sampling makes. */
function blockyImage(): Float32Array {
  const coarse = random(3 * (SIZE / 2) ** 2)
  const image = new Float32Array(3 * PLANE)
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        image[c * PLANE + y * SIZE + x] = coarse[c * (SIZE / 2) ** 2 + (y >> 1) * (SIZE / 2) + (x >> 1)]!
      }
    }
  }
  return image
}

/** Mean |x − (2×2 block mean)| over the whole image, computed directly. */
function residualEnergy(image: Float32Array): number {
  let total = 0
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const at = (yy: number, xx: number) => image[c * PLANE + yy * SIZE + xx]!
        const by = y & ~1
        const bx = x & ~1
        const blockMean = (at(by, bx) + at(by, bx + 1) + at(by + 1, bx) + at(by + 1, bx + 1)) / 4
        total += Math.abs(at(y, x) - blockMean)
      }
    }
  }
  return total / (3 * PLANE)
}

describe('handmade residual-energy model folder', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'genimage-handmade-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it("writes a card that validates, says it is untrained, and matches the ONNX file's sha256", async () => {
    const written = await writeHandmadeModel(join(dir, 'a'))
    const card = ModelCard.parse(JSON.parse(await readFile(written.cardPath, 'utf8')))
    const onnx = await readFile(written.onnxPath)
    expect(card.sha256).toBe(createHash('sha256').update(onnx).digest('hex'))
    expect(card.provenance.kind).toBe('handmade')
    expect(card.metrics).toEqual([])
    expect(card.labels).toEqual(['nature', 'ai'])
    expect(card.description).toMatch(/not a trained detector/)
    expect(card.description).toMatch(/not measured/)
    expect(card.input).toMatchObject({ name: 'image', layout: 'NCHW', height: SIZE, width: SIZE, mean: [0.5, 0.5, 0.5] })
  })

  it('writes byte-identical folders for the same options', async () => {
    const options = { createdAt: '2026-01-01T00:00:00.000Z', command: 'fixed' }
    const first = await writeHandmadeModel(join(dir, 'b1'), options)
    const second = await writeHandmadeModel(join(dir, 'b2'), options)
    expect(await readFile(first.onnxPath)).toEqual(await readFile(second.onnxPath))
    expect(await readFile(first.cardPath, 'utf8')).toBe(await readFile(second.cardPath, 'utf8'))
  })

  it("is loaded by the runner's model repository, which checks the card and the graph's names", async () => {
    const written = await writeHandmadeModel(join(dir, 'c'))
    const model = await loadModel(written.dir, { providers: ['cpu'], maxPixels: 10_000_000 })
    try {
      expect(model?.card.name).toBe('npr-residual-handmade')
      expect(model?.session.inputNames).toEqual(['image'])
      expect(model?.session.outputNames).toEqual(['logits'])
    } finally {
      await model?.session.release()
    }
  })

  it('scores a batch of 3 through the runner softmax: blocky towards ai, noise towards nature, logits equal to the affine map of r', async () => {
    const blocky = blockyImage()
    const slightlyNoisy = blockyImage().map((v) => v + 0.1 * random(1)[0]!)
    const noisy = random(3 * PLANE)
    const batch = new Float32Array(3 * 3 * PLANE)
    for (const [i, image] of [blocky, slightlyNoisy, noisy].entries()) batch.set(image, i * 3 * PLANE)

    const session = await ort.InferenceSession.create(buildHandmadeOnnx(SIZE))
    try {
      const out = await session.run({ image: new ort.Tensor('float32', batch, [3, 3, SIZE, SIZE]) })
      const logits = out.logits!
      expect(logits.dims).toEqual([3, 2])
      const values = logits.data as Float32Array
      const softmax = softmaxRows(values, 2)
      const probabilities = [0, 1, 2].map((i) => ({ nature: softmax[2 * i]!, ai: softmax[2 * i + 1]! }))
      for (const p of probabilities) expect(p.nature + p.ai).toBeCloseTo(1, 6)
      ;[blocky, slightlyNoisy, noisy].forEach((image, i) => {
        const z = HANDMADE_AFFINE.scale * residualEnergy(image) + HANDMADE_AFFINE.offset
        expect(Math.abs(values[2 * i + 1]! - values[2 * i]! - z)).toBeLessThan(1e-4)
      })
      const [pBlocky, pSlight, pNoisy] = probabilities.map((p) => p.ai) as [number, number, number]
      expect(pBlocky).toBeCloseTo(1 / (1 + Math.exp(-HANDMADE_AFFINE.offset)), 5)
      expect(pBlocky).toBeGreaterThan(pSlight)
      expect(pSlight).toBeGreaterThan(pNoisy)
      expect(pNoisy).toBeLessThan(0.01)
    } finally {
      await session.release()
    }
  })

  it('rejects an odd input size', () => {
    expect(() => buildHandmadeOnnx(63)).toThrow(/even integer/)
  })
})
