import type { KernelConfig, KernelFunc, MaxPoolGradAttrs, TensorInfo } from '@tensorflow/tfjs'
import { backend_util } from '@tensorflow/tfjs'
import { asHeapBackend } from './heap.ts'

/**
 * Max-pool gradient on the wasm heap: each window's gradient goes to its first maximum in row-major order
 * (as the `cpu` backend does), whatever the sign of the values. Replaces the stock kernel, whose running
 * maximum starts at the smallest positive float and so misroutes windows that are all ≤ 0.
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
  const best = new Float32Array(channels)
  const bestAt = new Int32Array(channels)
  for (let b = 0; b < batchSize; b++) {
    const batchOffset = b * inHeight * inWidth * channels
    for (let yR = 0; yR < outHeight; yR++) {
      const rowCorner = yR * strideHeight - info.padInfo.top
      const rowStart = Math.max(rowCorner, 0)
      const rowEnd = Math.min(rowCorner + filterHeight, inHeight)
      for (let yC = 0; yC < outWidth; yC++) {
        const colCorner = yC * strideWidth - info.padInfo.left
        const colStart = Math.max(colCorner, 0)
        const colEnd = Math.min(colCorner + filterWidth, inWidth)
        best.fill(Number.NEGATIVE_INFINITY)
        bestAt.fill(-1)
        for (let r = rowStart; r < rowEnd; r++) {
          for (let c = colStart; c < colEnd; c++) {
            const base = batchOffset + (r * inWidth + c) * channels
            for (let d = 0; d < channels; d++) {
              const value = x[base + d] as number
              if (value > (best[d] as number)) {
                best[d] = value
                bestAt[d] = base + d
              }
            }
          }
        }
        const dyBase = ((b * outHeight + yR) * outWidth + yC) * channels
        for (let d = 0; d < channels; d++) {
          const at = bestAt[d] as number
          if (at >= 0) dx[at] = (dx[at] as number) + (dyValues[dyBase + d] as number)
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
