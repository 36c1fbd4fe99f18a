import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { resolveTfBackend } from '../src/tf/index.ts'
import { relativeError } from './relative-error.ts'

/** Batch norm written with elementwise ops only: its gradient never touches FusedBatchNorm's. */
function elementwiseBatchNorm(x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, offset: tf.Tensor, scale: tf.Tensor, eps: number) {
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), scale), offset)
}

beforeAll(async () => {
  await resolveTfBackend({ priority: ['wasm'], log: () => {} })
})

describe('batch-norm gradient (registered by resolveTfBackend)', () => {
  const cases = [
    { backend: 'wasm', paramShape: [5] },
    { backend: 'cpu', paramShape: [5] },
    { backend: 'wasm', paramShape: [1, 1, 1, 5] },
  ]

  it('handles statistics per position with a per-channel scale (offset shaped like the mean, as tfjs-core requires)', async () => {
    await tf.setBackend('wasm')
    const [fused, reference] = tf.tidy(() => {
      const x = tf.randomNormal([3, 4, 6], 0, 2, 'float32', 12)
      const dy = tf.randomNormal([3, 4, 6], 0, 1, 'float32', 13)
      const mean = tf.randomNormal([3, 4, 1], 0, 1, 'float32', 14)
      const variance = tf.add(tf.randomUniform([3, 4, 1], 0, 2, 'float32', 15), 0.1)
      const offset = tf.randomNormal([3, 4, 1], 0, 1, 'float32', 16)
      const scale = tf.randomNormal([1, 1, 6], 1, 0.5, 'float32', 17)
      const inputs = [x, mean, variance, offset, scale]
      const loss =
        (norm: typeof elementwiseBatchNorm) =>
        (...t: tf.Tensor[]) =>
          tf.sum(tf.mul(norm(t[0]!, t[1]!, t[2]!, t[3]!, t[4]!, 1e-3), dy))
      return [tf.grads(loss((a, m, v, o, s, e) => tf.batchNorm(a, m, v, o, s, e)))(inputs), tf.grads(loss(elementwiseBatchNorm))(inputs)]
    })
    for (let i = 0; i < 5; i++) {
      expect(fused[i]!.shape).toEqual(reference[i]!.shape)
      expect(relativeError((await fused[i]!.data()) as Float32Array, (await reference[i]!.data()) as Float32Array)).toBeLessThan(1e-4)
    }
    tf.dispose([...fused, ...reference])
  })

  it.each(cases)('matches the elementwise formulation on $backend, parameters $paramShape', async ({ backend, paramShape }) => {
    await tf.setBackend(backend)
    const [fused, reference] = tf.tidy(() => {
      const x = tf.randomNormal([3, 4, 6, 5], 0, 2, 'float32', 1)
      const dy = tf.randomNormal([3, 4, 6, 5], 0, 1, 'float32', 2)
      const mean = tf.randomNormal(paramShape, 0, 1, 'float32', 3)
      const variance = tf.add(tf.randomUniform(paramShape, 0, 2, 'float32', 4), 0.1)
      const offset = tf.randomNormal(paramShape, 0, 1, 'float32', 5)
      const scale = tf.randomNormal(paramShape, 1, 0.5, 'float32', 6)
      const inputs = [x, mean, variance, offset, scale]
      const loss =
        (norm: typeof elementwiseBatchNorm) =>
        (...t: tf.Tensor[]) =>
          tf.sum(tf.mul(norm(t[0]!, t[1]!, t[2]!, t[3]!, t[4]!, 1e-3), dy))
      const viaKernel = tf.grads(loss((a, m, v, o, s, e) => tf.batchNorm(a, m, v, o, s, e)))(inputs)
      const viaElementwise = tf.grads(loss(elementwiseBatchNorm))(inputs)
      return [viaKernel, viaElementwise]
    })
    for (let i = 0; i < 5; i++) {
      const actual = (await fused[i]!.data()) as Float32Array
      const expected = (await reference[i]!.data()) as Float32Array
      expect(fused[i]!.shape).toEqual(reference[i]!.shape)
      expect(relativeError(actual, expected)).toBeLessThan(1e-4)
    }
    tf.dispose([...fused, ...reference])
  })

  it('trains through batch statistics (moments → batchNorm), as a BatchNormalization layer does', async () => {
    await tf.setBackend('wasm')
    const [fused, reference] = tf.tidy(() => {
      const x = tf.randomNormal([4, 3, 3, 6], 0, 1, 'float32', 9)
      const dy = tf.randomNormal([4, 3, 3, 6], 0, 1, 'float32', 10)
      const gamma = tf.randomNormal([6], 1, 0.2, 'float32', 11)
      const beta = tf.zeros([6])
      const step = (norm: typeof elementwiseBatchNorm) => (input: tf.Tensor, g: tf.Tensor) => {
        const { mean, variance } = tf.moments(input, [0, 1, 2])
        return tf.sum(tf.mul(norm(input, mean, variance, beta, g, 1e-5), dy))
      }
      return [tf.grads(step((a, m, v, o, s, e) => tf.batchNorm(a, m, v, o, s, e)))([x, gamma]), tf.grads(step(elementwiseBatchNorm))([x, gamma])]
    })
    for (let i = 0; i < 2; i++) {
      expect(relativeError((await fused[i]!.data()) as Float32Array, (await reference[i]!.data()) as Float32Array)).toBeLessThan(1e-4)
    }
    tf.dispose([...fused, ...reference])
  })
})
