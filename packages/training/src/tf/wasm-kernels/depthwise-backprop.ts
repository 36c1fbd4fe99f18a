import type { DepthwiseConv2dNativeBackpropFilterAttrs, DepthwiseConv2dNativeBackpropInputAttrs } from '@tensorflow/tfjs'
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs'
import { backend_util } from '@tensorflow/tfjs'
import { TfBackendError } from '../errors.ts'
import { asHeapBackend } from './heap.ts'

type Conv2DInfo = ReturnType<typeof backend_util.computeConv2DInfo>

function depthwiseInfo(
  inputShape: number[],
  filterShape: number[],
  attrs: DepthwiseConv2dNativeBackpropInputAttrs | DepthwiseConv2dNativeBackpropFilterAttrs,
): Conv2DInfo {
  const dilations = attrs.dilations ?? 1
  if (!(dilations === 1 || (Array.isArray(dilations) && dilations.every((d) => d === 1)))) {
    throw new TfBackendError('tf_kernel_unsupported', 'depthwise convolution gradients on wasm need dilation 1')
  }
  return backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  )
}

/**
 * Visits every (output position, filter tap) pair whose input pixel lies inside the image, handing over
 * the flat offsets of the input pixel, the output pixel and the tap (each at channel 0).
 */
function forEachTap(info: Conv2DInfo, visit: (xAt: number, yAt: number, tapAt: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info
  const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++) {
        const yAt = ((b * outHeight + yR) * outWidth + yC) * outChannels
        for (let i = 0; i < filterHeight; i++) {
          const r = yR * strideHeight - padInfo.top + i
          if (r < 0 || r >= inHeight) continue
          for (let j = 0; j < filterWidth; j++) {
            const c = yC * strideWidth - padInfo.left + j
            if (c < 0 || c >= inWidth) continue
            visit(((b * inHeight + r) * inWidth + c) * inChannels, yAt, (i * filterWidth + j) * outChannels)
          }
        }
      }
    }
  }
}

/** Input gradient of a depthwise convolution, computed on the wasm heap (NHWC, dilation 1). */
export const depthwiseConv2dNativeBackpropInput: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo }
  const typed = attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs
  const info = depthwiseInfo(typed.inputShape, filter.shape, typed)
  const heap = asHeapBackend(backend)
  const out = heap.makeOutput([...typed.inputShape], 'float32')
  const dx = heap.typedArrayFromHeap(out) as Float32Array
  const dyValues = heap.typedArrayFromHeap(dy) as Float32Array
  const weights = heap.typedArrayFromHeap(filter) as Float32Array
  const channels = info.inChannels
  const multiplier = info.outChannels / channels
  dx.fill(0)
  forEachTap(info, (xAt, yAt, tapAt) => {
    for (let d = 0; d < channels; d++) {
      let sum = 0
      for (let m = 0; m < multiplier; m++) {
        const k = d * multiplier + m
        sum += (dyValues[yAt + k] as number) * (weights[tapAt + k] as number)
      }
      dx[xAt + d] = (dx[xAt + d] as number) + sum
    }
  })
  return out
}

/** Filter gradient of a depthwise convolution, computed on the wasm heap with float64 accumulation. */
export const depthwiseConv2dNativeBackpropFilter: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo }
  const typed = attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs
  const info = depthwiseInfo(x.shape, typed.filterShape, typed)
  const heap = asHeapBackend(backend)
  const channels = info.inChannels
  const multiplier = info.outChannels / channels
  const sums = new Float64Array(info.filterHeight * info.filterWidth * info.outChannels)
  const out = heap.makeOutput([...typed.filterShape], 'float32')
  const xValues = heap.typedArrayFromHeap(x) as Float32Array
  const dyValues = heap.typedArrayFromHeap(dy) as Float32Array
  forEachTap(info, (xAt, yAt, tapAt) => {
    for (let d = 0; d < channels; d++) {
      const pixel = xValues[xAt + d] as number
      for (let m = 0; m < multiplier; m++) {
        const k = d * multiplier + m
        sums[tapAt + k] = (sums[tapAt + k] as number) + pixel * (dyValues[yAt + k] as number)
      }
    }
  })
  ;(heap.typedArrayFromHeap(out) as Float32Array).set(sums)
  return out
}

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropInput,
}

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropFilter,
}
