import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { resolveTfBackend } from '../src/tf/index.ts'
import { relativeError } from './relative-error.ts'
import { CONV_PADDINGS as pads, onBothBackends, type Pad } from './tf-backends.ts'

function seededNormal(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed)
}

const convCases = [
  ...[1, 3, 7].flatMap((kernel) => [1, 2].flatMap((stride) => pads.map((pad) => ({ kernel, stride, pad, size: 15 })))),
  // patch embeddings and patch merging (ViT/DeiT 16/16, Swin 4/4 and 2/2)
  { kernel: 2, stride: 2, pad: 'valid' as Pad, size: 16 },
  { kernel: 4, stride: 4, pad: 'valid' as Pad, size: 18 },
  { kernel: 16, stride: 16, pad: 'valid' as Pad, size: 32 },
  { kernel: 3, stride: 3, pad: 'same' as Pad, size: 14 },
]

beforeAll(async () => {
  await resolveTfBackend({ priority: ['wasm'], log: () => {} })
})

describe('wasm conv2d gradients match cpu', () => {
  it.each(convCases)('kernel $kernel stride $stride pad $pad input $size', async ({ kernel, stride, pad, size }) => {
    const seed = kernel * 10 + stride
    const { cpu, wasm } = await onBothBackends(() => {
      const x = seededNormal([2, size, size - 1, 3], seed) as tf.Tensor4D
      const filter = seededNormal([kernel, kernel, 3, 5], seed + 1) as tf.Tensor4D
      const probe = (input: tf.Tensor4D, weights: tf.Tensor4D) => tf.conv2d(input, weights, stride, pad)
      const weightsOut = probe(x, filter)
      const dy = seededNormal(weightsOut.shape, seed + 2)
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(probe(a as tf.Tensor4D, b as tf.Tensor4D), dy)))([x, filter])
      return [dx as tf.Tensor, dw as tf.Tensor]
    })
    expect(relativeError(wasm[0] as Float32Array, cpu[0] as Float32Array)).toBeLessThan(1e-4)
    expect(relativeError(wasm[1] as Float32Array, cpu[1] as Float32Array)).toBeLessThan(1e-4)
  })

  it('trains a conv layer through tf.layers on wasm (fused conv + bias + relu)', async () => {
    await tf.setBackend('wasm')
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [16, 16, 3],
          filters: 4,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }),
        }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }),
      ],
    })
    model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' })
    const xs = seededNormal([8, 16, 16, 3], 7)
    const ys = tf.sum(xs, [1, 2, 3]).div(20).reshape([8, 1])
    const history = await model.fit(xs, ys, { epochs: 15, batchSize: 8, verbose: 0 })
    const losses = history.history.loss as number[]
    expect(losses.at(-1)).toBeLessThan((losses[0] as number) * 0.5)
    tf.dispose([xs, ys])
    model.dispose()
  })
})

describe('wasm max-pool gradient matches cpu', () => {
  const poolCases = [2, 3].flatMap((size) => [1, 2].flatMap((stride) => (['same', 'valid'] as const).map((pad) => ({ size, stride, pad }))))

  it.each(poolCases)('after ReLU: size $size stride $stride pad $pad', async ({ size, stride, pad }) => {
    const { cpu, wasm } = await onBothBackends(() => {
      const x = tf.relu(seededNormal([2, 9, 10, 4], size + stride)) as tf.Tensor4D
      const dy = seededNormal(tf.maxPool(x, size, stride, pad).shape, 3)
      const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, pad), dy)))(x)
      return [dx]
    })
    expect(relativeError(wasm[0] as Float32Array, cpu[0] as Float32Array)).toBeLessThan(1e-4)
  })

  it.each(poolCases)('all-negative windows: size $size stride $stride pad $pad', async ({ size, stride, pad }) => {
    const { cpu, wasm } = await onBothBackends(() => {
      const x = tf.sub(tf.neg(tf.abs(seededNormal([1, 8, 8, 3], 11))), 0.1) as tf.Tensor4D
      const dy = tf.onesLike(tf.maxPool(x, size, stride, pad))
      const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, pad), dy)))(x)
      return [dx, tf.maxPool(x, size, stride, pad)]
    })
    expect(relativeError(wasm[0] as Float32Array, cpu[0] as Float32Array)).toBeLessThan(1e-4)
    expect(relativeError(wasm[1] as Float32Array, cpu[1] as Float32Array)).toBeLessThan(1e-4)
  })
})

describe('wasm depthwise conv2d gradients match cpu', () => {
  const depthwiseCases = [3, 7].flatMap((kernel) =>
    [1, 2].flatMap((stride) => pads.flatMap((pad) => [1, 2].map((multiplier) => ({ kernel, stride, pad, multiplier })))),
  )

  it.each(depthwiseCases)('kernel $kernel stride $stride pad $pad multiplier $multiplier', async ({ kernel, stride, pad, multiplier }) => {
    const { cpu, wasm } = await onBothBackends(() => {
      const x = seededNormal([2, 13, 12, 4], kernel + stride) as tf.Tensor4D
      const filter = seededNormal([kernel, kernel, 4, multiplier], 5) as tf.Tensor4D
      const probe = (a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad)
      const dy = seededNormal(probe(x, filter).shape, 6)
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(probe(a, b), dy)))([x, filter])
      return [dx as tf.Tensor, dw as tf.Tensor]
    })
    expect(relativeError(wasm[0] as Float32Array, cpu[0] as Float32Array)).toBeLessThan(1e-4)
    expect(relativeError(wasm[1] as Float32Array, cpu[1] as Float32Array)).toBeLessThan(1e-4)
  })
})

describe('wasm gather gradient (UnsortedSegmentSum) matches cpu', () => {
  it('sums gradients of repeated indices on axis 0 and axis 1', async () => {
    const { cpu, wasm } = await onBothBackends(() => {
      const table = seededNormal([6, 5, 3], 21)
      const indices = tf.tensor1d([4, 0, 4, 2, 4], 'int32')
      const onRows = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, indices, 0), seededNormal([5, 5, 3], 22))))(table)
      const onCols = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d([1, 1, 3], 'int32'), 1), seededNormal([6, 3, 3], 23))))(table)
      return [onRows, onCols]
    })
    expect(relativeError(wasm[0] as Float32Array, cpu[0] as Float32Array)).toBeLessThan(1e-4)
    expect(relativeError(wasm[1] as Float32Array, cpu[1] as Float32Array)).toBeLessThan(1e-4)
    expect(Array.from(cpu[0] as Float32Array).some((v) => v !== 0)).toBe(true)
  })
})

describe('wasm sum and mean match cpu', () => {
  const reductions = [
    { axes: [0, 1, 2], keepDims: false },
    { axes: [0, 1, 2], keepDims: true },
    { axes: [0], keepDims: false },
    { axes: [2, 1, 0], keepDims: false },
    { axes: [1, 2], keepDims: true },
    { axes: [3], keepDims: false },
  ]

  it.each(reductions)('axes $axes keepDims $keepDims', async ({ axes, keepDims }) => {
    const { cpu, wasm } = await onBothBackends(() => {
      const x = tf.add(seededNormal([4, 7, 6, 5], 31), 3)
      return [tf.sum(x, axes, keepDims), tf.mean(x, axes, keepDims)]
    })
    expect(relativeError(wasm[0] as Float32Array, cpu[0] as Float32Array)).toBeLessThan(1e-5)
    expect(relativeError(wasm[1] as Float32Array, cpu[1] as Float32Array)).toBeLessThan(1e-5)
    const shapes: number[][] = []
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend)
      shapes.push(tf.tidy(() => tf.mean(tf.ones([4, 7, 6, 5]), axes, keepDims).shape))
    }
    expect(shapes[1]).toEqual(shapes[0])
  })
})

describe('wasm clones', () => {
  it('share memory with the original and keep their values after it is disposed', async () => {
    await tf.setBackend('wasm')
    const original = tf.tensor2d([
      [1, -2],
      [3.5, 4],
    ])
    const buffersBefore = tf.memory().numDataBuffers
    const copy = tf.clone(original)
    expect(tf.memory().numDataBuffers).toBe(buffersBefore)
    original.dispose()
    expect(Array.from(await copy.data())).toEqual([1, -2, 3.5, 4])
    copy.dispose()
  })
})
