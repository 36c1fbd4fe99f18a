import type * as tfjs from '@tensorflow/tfjs'
import type { FusedBatchNormAttrs, GradConfig, Tensor } from '@tensorflow/tfjs'

type NamedGradientMap = ReturnType<GradConfig['gradFunc']>

type Tf = typeof tfjs

/** Axes of `full` that a tensor of `reduced` shape is broadcast over (right-aligned). */
function broadcastAxes(reduced: number[], full: number[]): number[] {
  const offset = full.length - reduced.length
  return full.map((size, axis) => axis).filter((axis) => axis < offset || (reduced[axis - offset] === 1 && (full[axis] as number) > 1))
}

/**
 * Gradient of `FusedBatchNorm` (tf.batchNorm) written with broadcasting and two shared reductions
 * (Σdy and Σdy·(x−mean)) instead of tfjs-core's Tile and per-input full-size products. Same values.
 */
export function createBatchNormGradConfig(tf: Tf): GradConfig {
  return {
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: unknown): NamedGradientMap => {
      const gradient = dy as Tensor
      const { varianceEpsilon } = attrs as FusedBatchNormAttrs
      const [x, mean, variance, scale] = saved as [Tensor, Tensor, Tensor, Tensor | undefined]
      const axes = broadcastAxes(mean.shape, x.shape)
      const reduce = (t: Tensor) => tf.reshape(axes.length > 0 ? tf.sum(t, axes) : t, mean.shape)
      const rstd = tf.rsqrt(tf.add(variance, varianceEpsilon))
      const scaledRstd = scale == null ? rstd : tf.mul(rstd, scale)
      const sumDy = reduce(gradient)
      const sumDyCentered = reduce(tf.mul(gradient, tf.sub(x, mean)))
      return {
        x: () => tf.mul(gradient, scaledRstd),
        mean: () => tf.neg(tf.mul(scaledRstd, sumDy)),
        variance: () => tf.mul(tf.mul(tf.mul(scaledRstd, tf.square(rstd)), -0.5), sumDyCentered),
        scale: () => tf.mul(rstd, sumDyCentered),
        offset: () => sumDy,
      }
    },
  }
}

let registered = false

/**
 * Replaces tfjs-core's `FusedBatchNorm` gradient (for every backend) with `createBatchNormGradConfig`.
 * Idempotent; returns whether this call registered it.
 */
export function registerBatchNormGradient(tf: Tf): boolean {
  if (registered) return false
  tf.registerGradient(createBatchNormGradConfig(tf))
  registered = true
  return true
}
