import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs'
import { TfBackendError } from '../errors.ts'
import { FLOAT_MEMORY_BACKENDS, floatMemory, type FloatMemoryBackendName } from './tensor-memory.ts'

/** Batch norm in training mode over every axis but the last: outputs y, the batch mean and the (biased) variance. */
export const BATCH_NORM_TRAINING = 'GenimageBatchNormTraining'
/** Its gradient: inputs dy, x, scale, mean, variance, dMean, dVariance; outputs dx, dScale, dOffset. */
export const BATCH_NORM_TRAINING_GRAD = 'GenimageBatchNormTrainingGrad'

export interface BatchNormTrainingAttrs {
  varianceEpsilon: number
}

function channelsOf(x: TensorInfo, params: TensorInfo[]): number {
  const channels = x.shape[x.shape.length - 1]
  if (x.shape.length < 2 || channels == null || params.some((p) => p.shape.length !== 1 || p.shape[0] !== channels)) {
    throw new TfBackendError(
      'tf_kernel_unsupported',
      `fused batch norm needs x of rank ≥ 2 and per-channel parameters of shape [${channels}], got x [${x.shape}] and ${params.map((p) => `[${p.shape}]`).join(', ')}`,
    )
  }
  return channels
}

/** One pass for Σx and Σx² per channel (float64), one pass for y = x·a + b. */
function forwardKernel(backendName: FloatMemoryBackendName): KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const { x, scale, offset } = inputs as { x: TensorInfo; scale: TensorInfo; offset: TensorInfo }
    const { varianceEpsilon } = attrs as unknown as BatchNormTrainingAttrs
    const channels = channelsOf(x, [scale, offset])
    const memory = floatMemory(backendName, backend as unknown as KernelBackend)
    const yInfo = memory.allocate([...x.shape])
    const meanInfo = memory.allocate([channels])
    const varianceInfo = memory.allocate([channels])
    const [xs, ys, gamma, beta, means, variances] = [x, yInfo, scale, offset, meanInfo, varianceInfo].map((t) => memory.view(t)) as Float32Array[]
    const total = xs!.length
    const rows = total / channels
    const sums = new Float64Array(channels)
    const squares = new Float64Array(channels)
    for (let base = 0; base < total; base += channels) {
      for (let c = 0; c < channels; c++) {
        const v = xs![base + c]!
        sums[c] = sums[c]! + v
        squares[c] = squares[c]! + v * v
      }
    }
    const a = new Float64Array(channels)
    const b = new Float64Array(channels)
    for (let c = 0; c < channels; c++) {
      const mean = sums[c]! / rows
      const variance = Math.max(squares[c]! / rows - mean * mean, 0)
      means![c] = mean
      variances![c] = variance
      a[c] = gamma![c]! / Math.sqrt(variance + varianceEpsilon)
      b[c] = beta![c]! - mean * a[c]!
    }
    for (let base = 0; base < total; base += channels) {
      for (let c = 0; c < channels; c++) ys![base + c] = xs![base + c]! * a[c]! + b[c]!
    }
    return [yInfo, meanInfo, varianceInfo]
  }
}

/**
 * One pass for Σdy and Σdy·x per channel, one pass for dx = k·dy + c·x + d, which folds in the gradients that
 * reach the mean and variance outputs (dMean/N and 2·dVariance·(x−mean)/N).
 */
function gradientKernel(backendName: FloatMemoryBackendName): KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const { dy, x, scale, mean, variance, dMean, dVariance } = inputs as Record<string, TensorInfo>
    const { varianceEpsilon } = attrs as unknown as BatchNormTrainingAttrs
    const channels = channelsOf(x!, [scale!, mean!, variance!, dMean!, dVariance!])
    const memory = floatMemory(backendName, backend as unknown as KernelBackend)
    const dxInfo = memory.allocate([...x!.shape])
    const dScaleInfo = memory.allocate([channels])
    const dOffsetInfo = memory.allocate([channels])
    const [dys, xs, gamma, means, variances, dMeans, dVariances, dxs, dScales, dOffsets] = [
      dy, x, scale, mean, variance, dMean, dVariance, dxInfo, dScaleInfo, dOffsetInfo,
    ].map((t) => memory.view(t!)) as Float32Array[]
    const total = xs!.length
    const rows = total / channels
    const sumDy = new Float64Array(channels)
    const sumDyX = new Float64Array(channels)
    for (let base = 0; base < total; base += channels) {
      for (let c = 0; c < channels; c++) {
        const g = dys![base + c]!
        sumDy[c] = sumDy[c]! + g
        sumDyX[c] = sumDyX[c]! + g * xs![base + c]!
      }
    }
    const k = new Float64Array(channels)
    const slope = new Float64Array(channels)
    const shift = new Float64Array(channels)
    for (let c = 0; c < channels; c++) {
      const mu = means![c]!
      const rstd = 1 / Math.sqrt(variances![c]! + varianceEpsilon)
      const sumDyCentered = sumDyX[c]! - mu * sumDy[c]!
      dScales![c] = rstd * sumDyCentered
      dOffsets![c] = sumDy[c]!
      const scaledRstd = gamma![c]! * rstd
      const centeredCoefficient = (-scaledRstd * rstd * rstd * sumDyCentered + 2 * dVariances![c]!) / rows
      k[c] = scaledRstd
      slope[c] = centeredCoefficient
      shift[c] = (-scaledRstd * sumDy[c]! + dMeans![c]!) / rows - centeredCoefficient * mu
    }
    for (let base = 0; base < total; base += channels) {
      for (let c = 0; c < channels; c++) dxs![base + c] = k[c]! * dys![base + c]! + slope[c]! * xs![base + c]! + shift[c]!
    }
    return [dxInfo, dScaleInfo, dOffsetInfo]
  }
}

/** The fused batch-norm kernels for every backend whose memory JavaScript can reach (`wasm`, `cpu`). */
export const BATCH_NORM_KERNELS: readonly KernelConfig[] = FLOAT_MEMORY_BACKENDS.flatMap((backendName) => [
  { kernelName: BATCH_NORM_TRAINING, backendName, kernelFunc: forwardKernel(backendName) },
  { kernelName: BATCH_NORM_TRAINING_GRAD, backendName, kernelFunc: gradientKernel(backendName) },
])
