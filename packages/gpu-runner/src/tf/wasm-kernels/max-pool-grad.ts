import type { KernelConfig, KernelFunc, MaxPoolGradAttrs, TensorInfo } from '@tensorflow/tfjs'
import { backend_util } from '@tensorflow/tfjs'
import { asHeapBackend } from './heap.ts'

/** A full 2×2 window: the first maximum in row-major order (strict >, as the generic loop) gets dy. */
function scatterTwoByTwo(
  x: Float32Array, dx: Float32Array, dy: Float32Array, corner: number, dyBase: number, channels: number, rowStride: number,
): void {
  for (let d = 0; d < channels; d++) {
    const a = corner + d
    const b = a + channels
    const c = a + rowStride
    const e = c + channels
    let best = Number.NEGATIVE_INFINITY
    let bestAt = -1
    if (x[a]! > best) { best = x[a]!; bestAt = a }
    if (x[b]! > best) { best = x[b]!; bestAt = b }
    if (x[c]! > best) { best = x[c]!; bestAt = c }
    if (x[e]! > best) bestAt = e
    if (bestAt >= 0) dx[bestAt] = dx[bestAt]! + dy[dyBase + d]!
  }
}

/**
 * Max-pool gradient on the wasm heap: each window's gradient goes to its first maximum in row-major order
 * (as the `cpu` backend does), whatever the sign of the values. Replaces the stock kernel, whose running
 * maximum starts at the smallest positive float and so misroutes windows that are all ≤ 0. Full 2×2
 * windows take an unrolled path.
 */
export const maxPoolGrad: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo }
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs
  const heap = asHeapBackend(backend)
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode,
  )
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info
  const out = heap.makeOutput([...input.shape], 'float32')
  const dx = heap.typedArrayFromHeap(out) as Float32Array
  const x = heap.typedArrayFromHeap(input) as Float32Array
  const dyValues = heap.typedArrayFromHeap(dy) as Float32Array
  dx.fill(0)
  const rowStride = inWidth * channels
  for (let b = 0; b < batchSize; b++) {
    const batchOffset = b * inHeight * rowStride
    for (let yR = 0; yR < outHeight; yR++) {
      const rowCorner = yR * strideHeight - info.padInfo.top
      const rowStart = Math.max(rowCorner, 0)
      const rowEnd = Math.min(rowCorner + filterHeight, inHeight)
      for (let yC = 0; yC < outWidth; yC++) {
        const colCorner = yC * strideWidth - info.padInfo.left
        const colStart = Math.max(colCorner, 0)
        const colEnd = Math.min(colCorner + filterWidth, inWidth)
        const corner = batchOffset + rowStart * rowStride + colStart * channels
        const dyBase = ((b * outHeight + yR) * outWidth + yC) * channels
        if (rowEnd - rowStart === 2 && colEnd - colStart === 2) {
          scatterTwoByTwo(x, dx, dyValues, corner, dyBase, channels, rowStride)
          continue
        }
        for (let d = 0; d < channels; d++) {
          let best = Number.NEGATIVE_INFINITY
          let bestAt = -1
          for (let r = rowStart; r < rowEnd; r++) {
            const rowBase = batchOffset + r * rowStride + d
            for (let c = colStart; c < colEnd; c++) {
              const at = rowBase + c * channels
              const value = x[at]!
              if (value > best) {
                best = value
                bestAt = at
              }
            }
          }
          if (bestAt >= 0) dx[bestAt] = dx[bestAt]! + dyValues[dyBase + d]!
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
