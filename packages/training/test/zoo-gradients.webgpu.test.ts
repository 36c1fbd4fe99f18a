import * as tf from '@tensorflow/tfjs'
import { listZooEntries, resolveZooModel } from '@genimage/shared/zoo'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TfBackendName } from '../src/tf/index.ts'
import { Optimizer } from '../src/train/optimizer.ts'
import { trainStep } from '../src/train/train.ts'
import { createDetector, implementedArchitectures } from '../src/zoo/index.ts'
import { relativeError } from './relative-error.ts'
import { median, reportWallTime, skipWebGpu, useBackend } from './webgpu-support.ts'

const TOLERANCE = 1e-3
/** Gradients that are zero in exact arithmetic: softmax attention ignores a bias added to every key. */
const ANALYTICALLY_ZERO = /attn\.k\.bias$/

const architectures = listZooEntries()
  .map((entry) => entry.architecture)
  .filter((architecture) => implementedArchitectures().includes(architecture))

async function seededImages(size: number, count: number, seed: number): Promise<Float32Array> {
  const images = tf.randomNormal([count, size, size, 3], 0, 1, 'float32', seed)
  const values = (await images.data()) as Float32Array
  images.dispose()
  return values
}

/** Loss and the gradient of every trainable weight of a freshly seeded detector, on `backend`. */
async function lossAndGradients(name: string, backend: TfBackendName, images: Float32Array) {
  await useBackend(backend)
  const size = resolveZooModel(name).input.height
  const detector = await createDetector(name, { seed: 1 })
  const trainable = [...detector.params.trainable]
  const started = performance.now()
  const { value, grads } = tf.tidy(() => {
    const x = tf.tensor4d(images, [2, size, size, 3])
    const targets = tf.oneHot(tf.tensor1d([0, 1], 'int32'), detector.labels.length)
    const ctx = { training: true, updates: [] }
    return tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(targets, detector.forward(x, ctx)) as tf.Scalar,
      trainable.map(([, v]) => v),
    )
  })
  const loss = (await value.data())[0] as number
  const gradients = new Map<string, Float32Array>()
  for (const [param, variable] of trainable) gradients.set(param, (await (grads[variable.name] as tf.Tensor).data()) as Float32Array)
  const ms = performance.now() - started
  tf.dispose([value, ...Object.values(grads)])
  detector.dispose()
  return { loss, gradients, ms }
}

function largestMagnitude(values: Iterable<Float32Array>): number {
  let largest = 0
  for (const array of values) for (const v of array) largest = Math.max(largest, Math.abs(v))
  return largest
}

/** npr-tiny trained `steps` steps from seeded weights on one batch: losses, weights after `compareAt` steps, tensor memory and time of each step. */
async function trainSteps(backend: TfBackendName, kind: 'sgd' | 'adamw', steps: number, compareAt: number, images: Float32Array) {
  await useBackend(backend)
  const detector = await createDetector('npr-tiny', { seed: 2 })
  const optimizer = new Optimizer({ kind, learningRate: kind === 'sgd' ? 0.05 : 3e-3, weightDecay: 1e-4 })
  const trainable = [...detector.params.trainable.values()]
  const batch = { images, labels: [0, 1, 0, 1] }
  const losses: number[] = []
  const memory: Array<{ numTensors: number; numBytes: number }> = []
  const seconds: number[] = []
  const weights = new Map<string, Float32Array>()
  for (let step = 1; step <= steps; step++) {
    const started = performance.now()
    losses.push(await trainStep(detector, optimizer, trainable, batch, optimizer.config.learningRate))
    seconds.push((performance.now() - started) / 1000)
    const { numTensors, numBytes } = tf.memory()
    memory.push({ numTensors, numBytes })
    if (step === compareAt)
      for (const [param, variable] of detector.params.all()) weights.set(param, Float32Array.from((await variable.data()) as Float32Array))
  }
  optimizer.dispose()
  detector.dispose()
  return { losses: losses.slice(0, compareAt), weights, memory, seconds }
}

describe.skipIf(skipWebGpu)('zoo training on webgpu (asked for by name, so also on lavapipe) matches cpu', () => {
  reportWallTime('zoo-gradients.webgpu.test.ts')
  const summary: string[] = []

  afterAll(() => console.log(summary.join('\n')))

  beforeAll(async () => {
    const resolved = await useBackend('webgpu')
    console.log(`webgpu adapter: ${resolved.device}`)
  }, 60_000)

  it.each(architectures)('%s-tiny: loss and every gradient within 1e-3 of cpu', { timeout: 240_000 }, async (architecture) => {
    const name = `${architecture}-tiny`
    const images = await seededImages(resolveZooModel(name).input.height, 2, 11)
    const cpu = await lossAndGradients(name, 'cpu', images)
    const gpu = await lossAndGradients(name, 'webgpu', images)
    const lossError = Math.abs(gpu.loss - cpu.loss) / Math.abs(cpu.loss)
    expect(lossError).toBeLessThanOrEqual(TOLERANCE)
    expect([...gpu.gradients.keys()]).toEqual([...cpu.gradients.keys()])
    const scale = largestMagnitude(cpu.gradients.values())
    const zero: string[] = []
    let worst = { error: 0, param: '' }
    for (const [param, expected] of cpu.gradients) {
      const actual = gpu.gradients.get(param) as Float32Array
      if (largestMagnitude([expected]) < 1e-7 * scale) {
        // Rounding noise on both sides: assert it is noise on webgpu too, and that only the known zero gradients are.
        zero.push(param)
        expect(param).toMatch(ANALYTICALLY_ZERO)
        expect(largestMagnitude([actual])).toBeLessThan(1e-6 * scale)
        continue
      }
      const error = relativeError(actual, expected)
      if (error >= worst.error) worst = { error, param }
      expect(error, `${name} gradient of ${param}`).toBeLessThanOrEqual(TOLERANCE)
    }
    summary.push(
      `${name}: loss rel. error ${lossError.toExponential(1)}, worst gradient ${worst.error.toExponential(1)} (${worst.param}), ` +
        `${cpu.gradients.size} gradients (${zero.length} analytically zero), cpu ${cpu.ms.toFixed(0)} ms, webgpu ${gpu.ms.toFixed(0)} ms (first run)`,
    )
  })

  it.each(['sgd', 'adamw'] as const)(
    'npr-tiny, %s: training steps give the losses and weights of cpu, and tensor memory stays flat',
    { timeout: 240_000 },
    async (kind) => {
      const images = await seededImages(resolveZooModel('npr-tiny').input.height, 4, 5)
      // Pure-JavaScript cpu steps are slow: compare the first two, then watch memory over five on webgpu.
      const cpu = await trainSteps('cpu', kind, 2, 2, images)
      const gpu = await trainSteps('webgpu', kind, 5, 2, images)
      expect(relativeError(gpu.losses, cpu.losses)).toBeLessThanOrEqual(TOLERANCE)
      for (const [param, expected] of cpu.weights) expect(relativeError(gpu.weights.get(param) as Float32Array, expected), param).toBeLessThanOrEqual(TOLERANCE)
      // The first step creates the optimizer's slots; every later step leaves memory exactly as it found it.
      for (const after of gpu.memory.slice(2)) expect(after).toEqual(gpu.memory[1])
      summary.push(
        `npr-tiny ${kind} (batch 4): losses cpu ${cpu.losses.map((l) => l.toFixed(5)).join(' ')}, webgpu ${gpu.losses.map((l) => l.toFixed(5)).join(' ')}; ` +
          `step cpu ${median(cpu.seconds).toFixed(2)} s, webgpu ${median(gpu.seconds.slice(1)).toFixed(2)} s (first ${gpu.seconds[0]?.toFixed(1)} s); ` +
          `webgpu tensors/bytes after each step ${gpu.memory.map((m) => `${m.numTensors}/${m.numBytes}`).join(' ')}`,
      )
    },
  )
})
