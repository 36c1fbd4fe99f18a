import type * as tfjs from '@tensorflow/tfjs'
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs'
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from './batch-norm-kernels.ts'

type Tf = typeof tfjs
type NamedGradientMap = ReturnType<GradConfig['gradFunc']>

/** Output of `batchNormTraining`: the normalised tensor and the batch statistics it used (shape [channels]). */
export interface BatchNormTrainingResult {
  y: Tensor
  mean: Tensor
  variance: Tensor
}

/** Whether the active backend has the fused kernel (else `batchNormTraining` composes tfjs ops). */
export function hasFusedBatchNorm(tf: Tf): boolean {
  return tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) != null
}

/**
 * Batch norm in training mode over every axis but the last (NHWC feature maps, [N, C] features): the same
 * values as `tf.moments(x, axes)` followed by `tf.batchNorm(x, mean, variance, offset, scale, eps)`, and
 * differentiable in x, scale and offset (gradients reaching mean and variance are included). One kernel
 * forward and one backward where the backend has them (`registerFusedTrainingKernels`), else those two ops.
 *
 * @example
 * const { y, mean, variance } = batchNormTraining(tf, x, gamma, beta, 1e-5)
 */
export function batchNormTraining(tf: Tf, x: Tensor, scale: Tensor, offset: Tensor, varianceEpsilon: number): BatchNormTrainingResult {
  if (!hasFusedBatchNorm(tf) || x.dtype !== 'float32' || x.rank < 2) {
    const axes = x.shape.slice(0, -1).map((_, axis) => axis)
    const { mean, variance } = tf.moments(x, axes)
    return { y: tf.batchNorm(x, mean, variance, offset, scale, varianceEpsilon), mean, variance }
  }
  const attrs = { varianceEpsilon } as unknown as NamedAttrMap
  const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale, offset }, attrs) as Tensor[]
  return { y: y!, mean: mean!, variance: variance! }
}

/** Gradient of the fused kernel: one call of the gradient kernel gives all three input gradients. */
export function createBatchNormTrainingGradConfig(tf: Tf): GradConfig {
  return {
    kernelName: BATCH_NORM_TRAINING,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, true],
    gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap): NamedGradientMap => {
      const [dy, dMean, dVariance] = dys as Tensor[]
      const [x, scale, mean, variance] = saved as [Tensor, Tensor, Tensor, Tensor]
      const inputs = { dy: dy!, x, scale, mean, variance, dMean: dMean!, dVariance: dVariance! }
      const [dx, dScale, dOffset] = tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, inputs, attrs) as Tensor[]
      return { x: () => dx!, scale: () => dScale!, offset: () => dOffset! }
    },
  }
}
