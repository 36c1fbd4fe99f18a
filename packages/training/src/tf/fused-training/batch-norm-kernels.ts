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

/**
 * Per channel (last axis): Σa into `sums` and Σa·b into `products`, four rows at a time (a quarter of the
 * accumulator loads and stores of a row-by-row loop).
 */
function accumulateChannels(a: Float32Array, b: Float32Array, channels: number, sums: Float64Array, products: Float64Array): void {
  const total = a.length
  const block = 4 * channels
  let base = 0
  for (; base + block <= total; base += block) {
    for (let c = 0; c < channels; c++) {
      const i0 = base + c
      const i1 = i0 + channels
      const i2 = i1 + channels
      const i3 = i2 + channels
      const a0 = a[i0]!
      const a1 = a[i1]!
      const a2 = a[i2]!
      const a3 = a[i3]!
      sums[c] = sums[c]! + (a0 + a1 + (a2 + a3))
      products[c] = products[c]! + (a0 * b[i0]! + a1 * b[i1]! + (a2 * b[i2]! + a3 * b[i3]!))
    }
  }
  for (; base < total; base += channels) {
    for (let c = 0; c < channels; c++) {
      const value = a[base + c]!
      sums[c] = sums[c]! + value
      products[c] = products[c]! + value * b[base + c]!
    }
  }
}

/** out = x·p + r, with p and r per channel (last axis); four rows per step, as `accumulateChannels`. */
function scaleShiftByChannel(x: Float32Array, p: Float64Array, r: Float64Array, channels: number, out: Float32Array): void {
  const total = x.length
  const block = 4 * channels
  let base = 0
  for (; base + block <= total; base += block) {
    for (let c = 0; c < channels; c++) {
      const pc = p[c]!
      const rc = r[c]!
      const i0 = base + c
      out[i0] = x[i0]! * pc + rc
      out[i0 + channels] = x[i0 + channels]! * pc + rc
      out[i0 + 2 * channels] = x[i0 + 2 * channels]! * pc + rc
      out[i0 + 3 * channels] = x[i0 + 3 * channels]! * pc + rc
    }
  }
  for (; base < total; base += channels) {
    for (let c = 0; c < channels; c++) out[base + c] = x[base + c]! * p[c]! + r[c]!
  }
}

/** out = a·p + b·q + r, with p, q, r per channel (last axis); four rows per step, as `accumulateChannels`. */
function combineByChannel(a: Float32Array, p: Float64Array, b: Float32Array, q: Float64Array, r: Float64Array, channels: number, out: Float32Array): void {
  const total = a.length
  const block = 4 * channels
  let base = 0
  for (; base + block <= total; base += block) {
    for (let c = 0; c < channels; c++) {
      const pc = p[c]!
      const qc = q[c]!
      const rc = r[c]!
      const i0 = base + c
      const i1 = i0 + channels
      const i2 = i1 + channels
      const i3 = i2 + channels
      out[i0] = a[i0]! * pc + b[i0]! * qc + rc
      out[i1] = a[i1]! * pc + b[i1]! * qc + rc
      out[i2] = a[i2]! * pc + b[i2]! * qc + rc
      out[i3] = a[i3]! * pc + b[i3]! * qc + rc
    }
  }
  for (; base < total; base += channels) {
    for (let c = 0; c < channels; c++) out[base + c] = a[base + c]! * p[c]! + b[base + c]! * q[c]! + r[c]!
  }
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
    accumulateChannels(xs!, xs!, channels, sums, squares)
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
    scaleShiftByChannel(xs!, a, b, channels, ys!)
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
      dy,
      x,
      scale,
      mean,
      variance,
      dMean,
      dVariance,
      dxInfo,
      dScaleInfo,
      dOffsetInfo,
    ].map((t) => memory.view(t!)) as Float32Array[]
    const total = xs!.length
    const rows = total / channels
    const sumDy = new Float64Array(channels)
    const sumDyX = new Float64Array(channels)
    accumulateChannels(dys!, xs!, channels, sumDy, sumDyX)
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
    combineByChannel(dys!, k, xs!, slope, shift, channels, dxs!)
    return [dxInfo, dScaleInfo, dOffsetInfo]
  }
}

/** The fused batch-norm kernels for every backend whose memory JavaScript can reach (`wasm`, `cpu`). */
export const BATCH_NORM_KERNELS: readonly KernelConfig[] = FLOAT_MEMORY_BACKENDS.flatMap((backendName) => [
  { kernelName: BATCH_NORM_TRAINING, backendName, kernelFunc: forwardKernel(backendName) },
  { kernelName: BATCH_NORM_TRAINING_GRAD, backendName, kernelFunc: gradientKernel(backendName) },
])
