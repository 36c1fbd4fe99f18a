import type * as tfjs from '@tensorflow/tfjs'
import type { FusedBatchNormAttrs, GradConfig, Tensor } from '@tensorflow/tfjs'

type Tf = typeof tfjs
type NamedGradientMap = ReturnType<GradConfig['gradFunc']>

/** Axes of `full` that a tensor of shape `reduced` is broadcast over (right-aligned). */
function broadcastAxes(reduced: readonly number[], full: readonly number[]): number[] {
  const offset = full.length - reduced.length
  return full.map((_, axis) => axis).filter((axis) => axis < offset || (reduced[axis - offset] === 1 && (full[axis] as number) > 1))
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i])
}

/**
 * Gradient of `FusedBatchNorm` (tf.batchNorm) written with broadcasting instead of tfjs-core's Tile.
 * When mean, variance and scale share one shape (batch norm over channels), the five gradients come from
 * two shared reductions, Σdy and Σdy·(x−mean); otherwise each is reduced to its own input's shape
 * (offset to the mean's shape, as in tfjs-core, which does not save the offset).
 */
export function createBatchNormGradConfig(tf: Tf): GradConfig {
  return {
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: unknown): NamedGradientMap => {
      const gradient = dy as Tensor
      const { varianceEpsilon } = attrs as FusedBatchNormAttrs
      const [x, mean, variance, scale] = saved as [Tensor, Tensor, Tensor, Tensor | undefined]
      const reduceTo = (t: Tensor, shape: number[]) => {
        const axes = broadcastAxes(shape, t.shape)
        return tf.reshape(axes.length > 0 ? tf.sum(t, axes) : t, shape)
      }
      const rstd = tf.rsqrt(tf.add(variance, varianceEpsilon))
      const scaledRstd = scale == null ? rstd : tf.mul(rstd, scale)
      const halfRstdCubed = tf.mul(tf.mul(scaledRstd, tf.square(rstd)), -0.5)
      const centered = tf.sub(x, mean)
      if (sameShape(variance.shape, mean.shape) && (scale == null || sameShape(scale.shape, mean.shape))) {
        const sumDy = reduceTo(gradient, mean.shape)
        const sumDyCentered = reduceTo(tf.mul(gradient, centered), mean.shape)
        return {
          x: () => tf.mul(gradient, scaledRstd),
          mean: () => tf.neg(tf.mul(scaledRstd, sumDy)),
          variance: () => tf.mul(halfRstdCubed, sumDyCentered),
          scale: () => tf.mul(rstd, sumDyCentered),
          offset: () => sumDy,
        }
      }
      return {
        x: () => tf.mul(gradient, scaledRstd),
        mean: () => reduceTo(tf.neg(tf.mul(gradient, scaledRstd)), mean.shape),
        variance: () => reduceTo(tf.mul(tf.mul(gradient, centered), halfRstdCubed), variance.shape),
        scale: () => reduceTo(tf.mul(gradient, tf.mul(centered, rstd)), scale?.shape ?? mean.shape),
        offset: () => reduceTo(gradient, mean.shape),
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
