import { existsSync, readdirSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { resolveTfBackend, TfBackendError, useConvKernels, type OrtSessionCache } from '../src/tf/index.ts'
import { relativeError } from './relative-error.ts'
import { CONV_PADDINGS as pads, onBothBackends, type Pad } from './tf-backends.ts'

const seeded = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed)

let cache: OrtSessionCache
const runsOf = () => ({ conv: cache.runs('conv'), dx: cache.runs('dx'), dw: cache.runs('dw') })

beforeAll(async () => {
  const resolved = await resolveTfBackend({ priority: ['wasm'], threads: 2, conv: 'onnx', log: () => {} })
  expect(resolved.convolutions).toEqual({ mode: 'onnx' })
  const status = useConvKernels(tf, { mode: 'onnx', threads: 2 })
  if (status.cache == null) throw new Error(`onnxruntime convolutions unavailable: ${status.reason}`)
  cache = status.cache
})

afterAll(() => {
  useConvKernels(tf, { mode: 'onnx', threads: 2 })
})

// 15×14 inputs take the NCHW Conv / ConvTranspose graphs, 7×6 the patch-GEMM and Col2Im ones (few positions
// per image); 3 input channels (image stems) the per-image filter gradient, with the forward pass left to XNNPACK.
const gradientCases = [
  ...[1, 3, 7].flatMap((kernel) =>
    [1, 2].flatMap((stride) =>
      pads.flatMap((pad) =>
        [
          [15, 14],
          [7, 6],
        ].map(([height, width]) => ({ kernel, stride, pad, height: height!, width: width!, channels: 16 })),
      ),
    ),
  ),
  ...[1, 3].flatMap((kernel) => [1, 2].flatMap((stride) => pads.map((pad) => ({ kernel, stride, pad, height: 15, width: 14, channels: 3 })))),
  { kernel: 2, stride: 2, pad: 'valid' as Pad, height: 16, width: 16, channels: 16 },
  { kernel: 4, stride: 4, pad: 'valid' as Pad, height: 18, width: 17, channels: 16 },
  { kernel: 16, stride: 16, pad: 'valid' as Pad, height: 32, width: 32, channels: 16 },
  { kernel: 3, stride: 3, pad: 'same' as Pad, height: 14, width: 14, channels: 16 },
].filter(({ kernel, height, width, pad }) => pad === 'same' || kernel <= Math.min(height, width) + (pad === 'valid' ? 0 : 3))

describe('onnxruntime conv2d and its gradients match cpu', () => {
  it.each(gradientCases)('kernel $kernel stride $stride pad $pad input $height×$width×$channels', async ({ kernel, stride, pad, height, width, channels }) => {
    const seed = kernel * 10 + stride
    const before = runsOf()
    const { cpu, wasm: onnx } = await onBothBackends(() => {
      const x = seeded([2, height, width, channels], seed) as tf.Tensor4D
      const filter = seeded([kernel, kernel, channels, 24], seed + 1) as tf.Tensor4D
      const conv = (input: tf.Tensor4D, weights: tf.Tensor4D) => tf.conv2d(input, weights, stride, pad)
      const y = conv(x, filter)
      const dy = seeded(y.shape, seed + 2)
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), dy)))([x, filter])
      return [y, dx as tf.Tensor, dw as tf.Tensor]
    })
    const after = runsOf()
    expect(after.conv > before.conv).toBe(channels >= 8)
    expect(after.dx).toBeGreaterThan(before.dx)
    expect(after.dw).toBeGreaterThan(before.dw)
    for (const [i, name] of ['y', 'dx', 'dw'].entries()) {
      expect(relativeError(onnx[i] as Float32Array, cpu[i] as Float32Array), name).toBeLessThan(1e-4)
    }
  })

  it.each([1, 2])('dilation 2, stride 1, pad %s', async (padding) => {
    const before = cache.runs('conv')
    const { cpu, wasm: onnx } = await onBothBackends(() => [
      tf.conv2d(seeded([2, 13, 12, 16], 5) as tf.Tensor4D, seeded([3, 3, 16, 8], 6) as tf.Tensor4D, 1, padding, 'NHWC', 2),
    ])
    expect(cache.runs('conv')).toBeGreaterThan(before)
    expect(relativeError(onnx[0] as Float32Array, cpu[0] as Float32Array)).toBeLessThan(1e-4)
  })
})

describe('onnxruntime fused conv2d (bias and activation) matches cpu', () => {
  const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const
  it.each(
    activations.flatMap(
      (activation) =>
        [
          [15, activation],
          [6, activation],
        ] as const,
    ),
  )('input %i, %s', async (size, activation) => {
    const before = cache.runs('conv')
    const { cpu, wasm: onnx } = await onBothBackends(() => [
      tf.fused.conv2d({
        x: seeded([2, size, size, 16], 1) as tf.Tensor4D,
        filter: seeded([3, 3, 16, 8], 2) as tf.Tensor4D,
        strides: 2,
        pad: 'same',
        bias: seeded([8], 3),
        activation,
        leakyreluAlpha: 0.3,
      }),
    ])
    expect(cache.runs('conv')).toBeGreaterThan(before)
    expect(relativeError(onnx[0] as Float32Array, cpu[0] as Float32Array)).toBeLessThan(1e-4)
  })

  it('leaves PReLU and three-channel stems to the wasm kernels, with the same results as cpu', async () => {
    const before = cache.runs('conv')
    const { cpu, wasm: onnx } = await onBothBackends(() => [
      tf.fused.conv2d({
        x: seeded([2, 9, 9, 16], 1) as tf.Tensor4D,
        filter: seeded([3, 3, 16, 8], 2) as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        activation: 'prelu',
        preluActivationWeights: seeded([8], 4),
      }),
      tf.conv2d(seeded([2, 12, 12, 3], 5) as tf.Tensor4D, seeded([7, 7, 3, 8], 6) as tf.Tensor4D, 2, 'same'),
    ])
    expect(cache.runs('conv')).toBe(before)
    for (const i of [0, 1]) expect(relativeError(onnx[i] as Float32Array, cpu[i] as Float32Array)).toBeLessThan(1e-4)
  })
})

describe('onnxruntime convolution kernels in training', () => {
  function trainSteps(steps: number): Float32Array {
    return tf.tidy(() => {
      const filter = tf.variable(seeded([3, 3, 8, 16], 21))
      const head = tf.variable(seeded([16, 1], 22))
      const x = seeded([4, 12, 12, 8], 23) as tf.Tensor4D
      const target = seeded([4, 1], 24)
      const optimizer = tf.train.sgd(0.01)
      for (let i = 0; i < steps; i++) {
        optimizer.minimize(() => {
          const features = tf.mean(tf.relu(tf.conv2d(x, filter as tf.Variable<tf.Rank.R4>, 2, 'same')), [1, 2])
          return tf.losses.meanSquaredError(target, tf.matMul(features, head))
        })
      }
      const weights = filter.dataSync() as Float32Array
      filter.dispose()
      head.dispose()
      optimizer.dispose()
      return weights
    })
  }

  it('gives bit-identical weights when the same steps run again', async () => {
    await tf.setBackend('wasm')
    const first = trainSteps(3)
    const second = trainSteps(3)
    expect(Array.from(second)).toEqual(Array.from(first))
  })

  it('keeps tensor memory and the wasm heap flat over repeated steps', async () => {
    await tf.setBackend('wasm')
    const heapBytes = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length
    trainSteps(2)
    const tensorsBefore = tf.memory().numBytes
    const heapBefore = heapBytes()
    for (let i = 0; i < 5; i++) trainSteps(2)
    expect(tf.memory().numBytes).toBe(tensorsBefore)
    expect(heapBytes()).toBe(heapBefore)
  })
})

describe('session cache and mode switching', () => {
  it('keeps at most maxSessions sessions (and their threads) and still computes right', async () => {
    await tf.setBackend('wasm')
    const bounded = useConvKernels(tf, { mode: 'onnx', threads: 2, maxSessions: 3 }).cache
    if (bounded == null) throw new Error('onnxruntime unavailable')
    const threads = () => (existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : 0)
    const threadsBefore = threads()
    for (let size = 8; size < 16; size++) {
      const { cpu, wasm: onnx } = await onBothBackends(() => [
        tf.conv2d(seeded([1, size, size, 8], size) as tf.Tensor4D, seeded([3, 3, 8, 4], size + 1) as tf.Tensor4D, 1, 'same'),
      ])
      expect(relativeError(onnx[0] as Float32Array, cpu[0] as Float32Array)).toBeLessThan(1e-4)
    }
    expect(bounded.sessionsBuilt).toBe(8)
    expect(bounded.size).toBe(3)
    if (threadsBefore > 0) expect(threads()).toBeLessThanOrEqual(threadsBefore + 3)
    useConvKernels(tf, { mode: 'onnx', threads: 2 })
  })

  it('switches back to the wasm kernels, and falls back to them when onnxruntime cannot load', async () => {
    const onnxConv = tf.getKernel('Conv2D', 'wasm')?.kernelFunc
    expect(useConvKernels(tf, { mode: 'wasm', threads: 2 })).toEqual({ mode: 'wasm' })
    const wasmConv = tf.getKernel('Conv2D', 'wasm')?.kernelFunc
    expect(wasmConv).not.toBe(onnxConv)
    const failing = useConvKernels(tf, {
      mode: 'onnx',
      threads: 2,
      loadRuntime: () => {
        throw new Error('no binary for this platform')
      },
    })
    expect(failing.mode).toBe('wasm')
    expect(failing.reason).toMatch(/onnxruntime-node did not load: no binary for this platform/)
    expect(tf.getKernel('Conv2D', 'wasm')?.kernelFunc).toBe(wasmConv)
    const lines: string[] = []
    await resolveTfBackend({ priority: ['wasm'], threads: 2, conv: 'wasm', log: (l) => lines.push(l) })
    expect(lines[0]).toMatch(/convolutions: wasm/)
    await resolveTfBackend({ priority: ['wasm'], threads: 2, log: (l) => lines.push(l) })
    expect(lines[1]).toMatch(/convolutions: onnxruntime/)
  })

  it('rejects an unknown mode with a stable code', () => {
    const error = (() => {
      try {
        useConvKernels(tf, { mode: 'gpu' as 'onnx', threads: 2 })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(TfBackendError)
    expect((error as TfBackendError).code).toBe('tf_conv_mode_unknown')
  })
})
