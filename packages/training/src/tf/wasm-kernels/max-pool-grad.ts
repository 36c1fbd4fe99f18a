import type { KernelConfig, KernelFunc, MaxPoolGradAttrs, TensorInfo } from '@tensorflow/tfjs'
import { backend_util } from '@tensorflow/tfjs'
import { asHeapBackend } from './heap.ts'

/** One pooling window of one image: rows [rowStart, rowEnd) × columns [colStart, colEnd), all channels. */
interface Window {
  batchOffset: number
  rowStart: number
  rowEnd: number
  colStart: number
  colEnd: number
}

/** The first position in row-major order holding `target` in channel `d` of the window, else -1. */
function firstAt(x: Float32Array, w: Window, rowStride: number, channels: number, d: number, target: number): number {
  for (let r = w.rowStart; r < w.rowEnd; r++) {
    const rowBase = w.batchOffset + r * rowStride + d
    for (let c = w.colStart; c < w.colEnd; c++) {
      if (x[rowBase + c * channels] === target) return rowBase + c * channels
    }
  }
  return -1
}

/** The first maximum in row-major order by a running maximum (NaN skipped; -1 when nothing beats −∞). */
function runningMaxAt(x: Float32Array, w: Window, rowStride: number, channels: number, d: number): number {
  let best = Number.NEGATIVE_INFINITY
  let bestAt = -1
  for (let r = w.rowStart; r < w.rowEnd; r++) {
    const rowBase = w.batchOffset + r * rowStride + d
    for (let c = w.colStart; c < w.colEnd; c++) {
      const value = x[rowBase + c * channels]!
      if (value > best) {
        best = value
        bestAt = rowBase + c * channels
      }
    }
  }
  return bestAt
}

/** Where channel `d`'s gradient goes: the first position equal to the forward maximum, else the running maximum. */
function maxAt(x: Float32Array, maxima: Float32Array | undefined, w: Window, rowStride: number, channels: number, d: number, dyAt: number): number {
  const target = maxima?.[dyAt]
  const at = target != null && target > Number.NEGATIVE_INFINITY ? firstAt(x, w, rowStride, channels, d, target) : -1
  return at >= 0 ? at : runningMaxAt(x, w, rowStride, channels, d)
}

/**
 * A full 2×2 window given the forward maxima: the first of the four positions equal to the maximum, picked
 * with arithmetic instead of branches (comparisons of feature maps mispredict often); windows where none of
 * the four matches (NaN, −∞, no maxima) take `maxAt`.
 */
function scatterTwoByTwo(
  x: Float32Array,
  dx: Float32Array,
  dy: Float32Array,
  maxima: Float32Array,
  w: Window,
  dyBase: number,
  channels: number,
  rowStride: number,
): void {
  const corner = w.batchOffset + w.rowStart * rowStride + w.colStart * channels
  for (let d = 0; d < channels; d++) {
    const a = corner + d
    const m = maxima[dyBase + d]!
    const notA = +(x[a] !== m)
    const notB = +(x[a + channels] !== m)
    const notC = +(x[a + rowStride] !== m)
    const notE = +(x[a + rowStride + channels] !== m)
    const at =
      notA * notB * notC * notE === 1 || !(m > Number.NEGATIVE_INFINITY)
        ? maxAt(x, undefined, w, rowStride, channels, d, dyBase + d)
        : a + notA * (channels + notB * (rowStride - channels + notC * channels))
    if (at >= 0) dx[at] = dx[at]! + dy[dyBase + d]!
  }
}

/**
 * Max-pool gradient on the wasm heap: each window's gradient goes to its first maximum in row-major order
 * (as the `cpu` backend does), whatever the sign of the values. Replaces the stock kernel, whose running
 * maximum starts at the smallest positive float and so misroutes windows that are all ≤ 0. The maximum is
 * read from the forward output (`output`), so the search stops at the first match; full 2×2 windows are
 * branch-free.
 */
export const maxPoolGrad: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, input, output } = inputs as { dy: TensorInfo; input: TensorInfo; output?: TensorInfo }
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs
  const heap = asHeapBackend(backend)
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode)
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info
  const out = heap.makeOutput([...input.shape], 'float32')
  const dx = heap.typedArrayFromHeap(out) as Float32Array
  const x = heap.typedArrayFromHeap(input) as Float32Array
  const dyValues = heap.typedArrayFromHeap(dy) as Float32Array
  const maxima =
    output != null && output.dtype === 'float32' && output.shape.every((d, i) => d === dy.shape[i])
      ? (heap.typedArrayFromHeap(output) as Float32Array)
      : undefined
  dx.fill(0)
  const rowStride = inWidth * channels
  const w: Window = { batchOffset: 0, rowStart: 0, rowEnd: 0, colStart: 0, colEnd: 0 }
  for (let b = 0; b < batchSize; b++) {
    const batchOffset = b * inHeight * rowStride
    for (let yR = 0; yR < outHeight; yR++) {
      const rowCorner = yR * strideHeight - info.padInfo.top
      const rowStart = Math.max(rowCorner, 0)
      const rowEnd = Math.min(rowCorner + filterHeight, inHeight)
      for (let yC = 0; yC < outWidth; yC++) {
        const colCorner = yC * strideWidth - info.padInfo.left
        w.batchOffset = batchOffset
        w.rowStart = rowStart
        w.rowEnd = rowEnd
        w.colStart = Math.max(colCorner, 0)
        w.colEnd = Math.min(colCorner + filterWidth, inWidth)
        const dyBase = ((b * outHeight + yR) * outWidth + yC) * channels
        if (maxima != null && rowEnd - rowStart === 2 && w.colEnd - w.colStart === 2) {
          scatterTwoByTwo(x, dx, dyValues, maxima, w, dyBase, channels, rowStride)
          continue
        }
        for (let d = 0; d < channels; d++) {
          const at = maxAt(x, maxima, w, rowStride, channels, d, dyBase + d)
          if (at >= 0) dx[at] = dx[at]! + dyValues[dyBase + d]!
        }
      }
    }
  }
  return out
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
}
