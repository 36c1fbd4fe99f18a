import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { resolveTfBackend, useConvKernels, type OrtSessionCache } from '../src/tf/index.ts'
import { relativeError } from './relative-error.ts'

// A process starts the wasm backend once; this file owns one with a single thread, whose heap is a plain
// ArrayBuffer that onnxruntime reads and writes in place (tf-onnx-conv.test.ts covers the shared, copied heap).
let cache: OrtSessionCache

beforeAll(async () => {
  await resolveTfBackend({ priority: ['wasm'], threads: 1, conv: 'onnx', log: () => {} })
  const status = useConvKernels(tf, { mode: 'onnx', threads: 1 })
  if (status.cache == null) throw new Error(`onnxruntime convolutions unavailable: ${status.reason}`)
  cache = status.cache
})

describe('onnxruntime convolutions on an unshared wasm heap', () => {
  it('computes conv2d and both gradients in place, matching cpu', async () => {
    const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer
    expect(heap).not.toBeInstanceOf(SharedArrayBuffer)
    const compute = () => {
      const tensors = tf.tidy(() => {
        const x = tf.randomNormal([2, 11, 10, 16], 0, 1, 'float32', 1) as tf.Tensor4D
        const filter = tf.randomNormal([3, 3, 16, 8], 0, 1, 'float32', 2) as tf.Tensor4D
        const dy = tf.randomNormal([2, 6, 5, 8], 0, 1, 'float32', 3)
        const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), dy)))([x, filter])
        return [conv(x, filter), dx as tf.Tensor, dw as tf.Tensor]
      })
      const values = tensors.map((t) => t.dataSync())
      tf.dispose(tensors)
      return values
    }
    const before = cache.runs('conv') + cache.runs('dx') + cache.runs('dw')
    const onnx = compute()
    expect(cache.runs('conv') + cache.runs('dx') + cache.runs('dw')).toBe(before + 4)
    await tf.setBackend('cpu')
    const cpu = compute()
    await tf.setBackend('wasm')
    for (const [i, name] of ['y', 'dx', 'dw'].entries()) {
      expect(relativeError(onnx[i] as Float32Array, cpu[i] as Float32Array), name).toBeLessThan(1e-4)
    }
  })
})
