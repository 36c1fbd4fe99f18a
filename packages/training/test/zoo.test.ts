import * as tf from '@tensorflow/tfjs'
import * as nsfwjs from 'nsfwjs'
import { ARCHITECTURES, listZooEntries, resolveZooModel } from '@genimage/shared/zoo'
import { beforeAll, describe, expect, it } from 'vitest'
import { resolveTfBackend } from '../src/tf/index.ts'
import { Optimizer } from '../src/train/optimizer.ts'
import { trainStep } from '../src/train/train.ts'
import { createDetector, implementedArchitectures } from '../src/zoo/index.ts'

beforeAll(async () => {
  await resolveTfBackend({ priority: ['wasm', 'cpu'], log: () => {} })
})

function randomBatch(size: number, n: number, labels: number[]) {
  return { images: tf.randomNormal([n, size, size, 3], 0, 1, 'float32', 11).dataSync() as Float32Array, labels }
}

describe('createDetector', () => {
  it('rejects an unknown name with the list of known models and a stable code', async () => {
    const failure = await createDetector('resnet-9000').catch((error: unknown) => error)
    expect(failure).toMatchObject({ code: 'model_not_found' })
    expect(String((failure as Error).message)).toContain('npr-tiny')
    expect(String((failure as Error).message)).toContain('resnet50')
  })

  it('implements every architecture of the zoo', () => {
    expect(implementedArchitectures().sort()).toEqual([...ARCHITECTURES].sort())
  })

  it("builds NPR at the paper size (1.44M parameters) and ResNet-50, DeiT-S and Swin-T at timm's sizes", async () => {
    const npr = await createDetector('npr')
    expect(npr.params.parameterCount(true)).toBeGreaterThan(1_420_000)
    expect(npr.params.parameterCount(true)).toBeLessThan(1_460_000)
    npr.dispose()
    // timm's counts with the 1000-class head replaced by a 2-class one
    for (const [name, count] of [
      ['resnet50', 23_512_130],
      ['deit-s', 21_666_434],
      ['swin-t', 27_520_892],
    ] as const) {
      const detector = await createDetector(name)
      expect(detector.params.parameterCount(true), name).toBe(count)
      detector.dispose()
    }
  })

  it("univfd-probe reuses the nsfwjs MobileNetV2 exactly: same pooled features as the package's own model", async () => {
    const packaged = (await nsfwjs.load('MobileNetV2', { size: 224 })) as unknown as { model: tf.LayersModel }
    const features = tf.model({ inputs: packaged.model.inputs, outputs: packaged.model.getLayer('out_relu').output as tf.SymbolicTensor })
    const images = tf.randomUniform([2, 224, 224, 3], 0, 1, 'float32', 3) as tf.Tensor4D
    const expected = tf.mean(features.predict(images) as tf.Tensor, [1, 2])
    const probe = await createDetector('univfd-probe')
    const backbone = (probe.network as unknown as { layers: Array<{ forward: (x: tf.Tensor, ctx: object) => tf.Tensor }> }).layers[0]!
    const actual = backbone.forward(images, { training: false, updates: [] })
    expect(actual.shape).toEqual([2, 1280])
    expect(tf.max(tf.abs(tf.sub(expected, actual))).dataSync()[0]).toBeLessThan(1e-4)
    expect(probe.params.parameterCount(true)).toBe(1280 * 2 + 2)
    tf.dispose([images, expected, actual])
    probe.dispose()
  })

  it('is seeded: the same seed gives the same weights, another seed different ones', async () => {
    const [a, b, c] = await Promise.all([
      createDetector('npr-tiny', { seed: 3 }),
      createDetector('npr-tiny', { seed: 3 }),
      createDetector('npr-tiny', { seed: 4 }),
    ])
    const first = (d: typeof a) => [...d.params.trainable.values()][0]!.dataSync()
    expect(first(a)).toEqual(first(b))
    expect(first(a)).not.toEqual(first(c))
    for (const d of [a, b, c]) d.dispose()
  })
})

describe.each(
  listZooEntries()
    .map((entry) => entry.architecture)
    .filter((a) => implementedArchitectures().includes(a)),
)('%s-tiny', (architecture) => {
  const name = `${architecture}-tiny`
  const size = resolveZooModel(name).input.height

  it('outputs one logit per label for binary and attribution heads', async () => {
    const binary = await createDetector(name)
    const attribution = await createDetector(name, { task: 'attribution', generators: ['ADM', 'GLIDE', 'BigGAN'] })
    const images = tf.randomNormal([3, size, size, 3]) as tf.Tensor4D
    expect(binary.labels).toEqual(['nature', 'ai'])
    expect(binary.predict(images).shape).toEqual([3, 2])
    expect(attribution.labels).toEqual(['nature', 'ADM', 'GLIDE', 'BigGAN'])
    expect(attribution.predict(images).shape).toEqual([3, 4])
    images.dispose()
    binary.dispose()
    attribution.dispose()
  })

  it('takes a training step that lowers the loss on a fixed batch', async () => {
    const detector = await createDetector(name, { seed: 1 })
    const entry = resolveZooModel(name).entry
    const optimizer = new Optimizer({ ...entry.defaultOptimizer, learningRate: entry.defaultOptimizer.kind === 'sgd' ? 0.05 : 3e-3 })
    const batch = randomBatch(size, 4, [0, 1, 0, 1])
    const trainable = [...detector.params.trainable.values()]
    const before = tf.memory().numTensors
    const losses: number[] = []
    for (let step = 0; step < 4; step++) losses.push(await trainStep(detector, optimizer, trainable, batch, optimizer.config.learningRate))
    expect(losses.every(Number.isFinite)).toBe(true)
    expect(losses.at(-1)!).toBeLessThan(losses[0]!)
    // steps after the first (which creates optimizer slots) must not leak tensors
    const afterOne = tf.memory().numTensors
    await trainStep(detector, optimizer, trainable, batch, 1e-4)
    expect(tf.memory().numTensors).toBe(afterOne)
    expect(afterOne).toBeGreaterThanOrEqual(before)
    optimizer.dispose()
    detector.dispose()
  })
})
