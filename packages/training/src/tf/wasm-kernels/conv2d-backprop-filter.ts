import type { Conv2DBackpropFilterAttrs, KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs'
import { backend_util } from '@tensorflow/tfjs'
import { TfBackendError } from '../errors.ts'
import { WasmKernelCalls } from './kernel-calls.ts'

/**
 * Filter gradient of a 2-D convolution: the input, with batch and channel axes swapped, convolved with dy
 * as the filter at dilation = the forward stride. 1×1 filters become one matrix product.
 */
export const conv2DBackpropFilter: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo }
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs
  if (dataFormat === 'NCHW') {
    throw new TfBackendError('tf_kernel_unsupported', 'Conv2DBackpropFilter on wasm supports NHWC only')
  }
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode)
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info
  const rowsNeeded = (outHeight - 1) * strideHeight + filterHeight
  const colsNeeded = (outWidth - 1) * strideWidth + filterWidth
  const calls = new WasmKernelCalls(backend as KernelBackend)
  try {
    const windowed = calls.padOrCrop(x, [
      [0, 0],
      [info.padInfo.top, rowsNeeded - inHeight - info.padInfo.top],
      [info.padInfo.left, colsNeeded - inWidth - info.padInfo.left],
      [0, 0],
    ])
    let result: TensorInfo
    if (filterHeight === 1 && filterWidth === 1) {
      const sampled =
        strideHeight === 1 && strideWidth === 1
          ? windowed
          : calls.run(
              'StridedSlice',
              { x: windowed },
              {
                begin: [0, 0, 0, 0],
                end: windowed.shape,
                strides: [1, strideHeight, strideWidth, 1],
                beginMask: 0,
                endMask: 0,
                ellipsisMask: 0,
                newAxisMask: 0,
                shrinkAxisMask: 0,
              },
            )
      const rows = batchSize * outHeight * outWidth
      const product = calls.run(
        'BatchMatMul',
        {
          a: calls.reshape(sampled, [1, rows, inChannels]),
          b: calls.reshape(dy, [1, rows, outChannels]),
        },
        { transposeA: true, transposeB: false },
      )
      result = calls.reshape(product, [1, 1, inChannels, outChannels])
    } else {
      const channelsAsBatch = calls.transpose(windowed, [3, 1, 2, 0])
      const dyAsFilter = calls.transpose(dy, [1, 2, 0, 3])
      const perChannel = calls.run(
        'Conv2D',
        { x: channelsAsBatch, filter: dyAsFilter },
        {
          strides: [1, 1],
          pad: 'valid',
          dataFormat: 'NHWC',
          dilations: [strideHeight, strideWidth],
        },
      )
      result = calls.transpose(perChannel, [1, 2, 0, 3])
    }
    calls.release(result)
    return result
  } catch (error) {
    calls.release()
    throw error
  }
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter,
}
