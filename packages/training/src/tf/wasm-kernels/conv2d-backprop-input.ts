import type { Conv2DBackpropInputAttrs, KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs'
import { backend_util } from '@tensorflow/tfjs'
import { TfBackendError } from '../errors.ts'
import { WasmKernelCalls } from './kernel-calls.ts'

interface PhasePlan {
  /** First filter tap of this phase (taps r, r + stride, …). */
  firstTap: number
  taps: number
  /** dy rows before the first one this phase reads (negative: pad with zeros). */
  dyOffset: number
}

/** For output rows `phase, phase + stride, …`, which filter taps reach them and where in dy they start. */
function planPhase(phase: number, stride: number, pad: number, filterSize: number): PhasePlan {
  const firstTap = (phase + pad) % stride
  const taps = firstTap < filterSize ? Math.ceil((filterSize - firstTap) / stride) : 0
  const dyOffset = (phase + pad - firstTap) / stride - (taps - 1)
  return { firstTap, taps, dyOffset }
}

/**
 * Input gradient of a 2-D convolution split by stride phase: each of the stride² interleaved output grids
 * is a stride-1 convolution of dy with a flipped sub-filter (taps of that phase, in/out channels swapped),
 * all run by XNNPACK; the grids are then interleaved.
 */
export const conv2DBackpropInput: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo }
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs
  if (dataFormat === 'NCHW') {
    throw new TfBackendError('tf_kernel_unsupported', 'Conv2DBackpropInput on wasm supports NHWC only')
  }
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode)
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth } = info
  const { filterHeight, filterWidth } = info
  const gridRows = Math.ceil(inHeight / strideHeight)
  const gridCols = Math.ceil(inWidth / strideWidth)
  const calls = new WasmKernelCalls(backend as KernelBackend)
  try {
    const flipped = calls.run('Reverse', { x: calls.transpose(filter, [0, 1, 3, 2]) }, { dims: [0, 1] })
    const rowPhases: TensorInfo[] = []
    for (let ph = 0; ph < strideHeight; ph++) {
      const rows = planPhase(ph, strideHeight, info.padInfo.top, filterHeight)
      const colPhases: TensorInfo[] = []
      for (let pw = 0; pw < strideWidth; pw++) {
        const cols = planPhase(pw, strideWidth, info.padInfo.left, filterWidth)
        if (rows.taps === 0 || cols.taps === 0) {
          colPhases.push(calls.run('Fill', {}, { shape: [batchSize, gridRows, gridCols, inChannels], value: 0, dtype: 'float32' }))
          continue
        }
        const subFilter = calls.run(
          'StridedSlice',
          { x: flipped },
          {
            begin: [filterHeight - 1 - rows.firstTap - (rows.taps - 1) * strideHeight, filterWidth - 1 - cols.firstTap - (cols.taps - 1) * strideWidth, 0, 0],
            end: [filterHeight - rows.firstTap, filterWidth - cols.firstTap, info.outChannels, inChannels],
            strides: [strideHeight, strideWidth, 1, 1],
            beginMask: 0,
            endMask: 0,
            ellipsisMask: 0,
            newAxisMask: 0,
            shrinkAxisMask: 0,
          },
        )
        const window = calls.padOrCrop(dy, [
          [0, 0],
          [-rows.dyOffset, gridRows + rows.dyOffset + rows.taps - 1 - outHeight],
          [-cols.dyOffset, gridCols + cols.dyOffset + cols.taps - 1 - outWidth],
          [0, 0],
        ])
        colPhases.push(
          calls.run(
            'Conv2D',
            { x: window, filter: subFilter },
            {
              strides: [1, 1],
              pad: 'valid',
              dataFormat: 'NHWC',
              dilations: [1, 1],
            },
          ),
        )
      }
      rowPhases.push(colPhases.length === 1 ? (colPhases[0] as TensorInfo) : calls.run('Pack', colPhases as unknown as Record<string, TensorInfo>, { axis: 3 }))
    }
    const interleaved =
      rowPhases.length === 1 ? (rowPhases[0] as TensorInfo) : calls.run('Pack', rowPhases as unknown as Record<string, TensorInfo>, { axis: 2 })
    const full = calls.reshape(interleaved, [batchSize, gridRows * strideHeight, gridCols * strideWidth, inChannels])
    const result =
      gridRows * strideHeight === inHeight && gridCols * strideWidth === inWidth
        ? full
        : calls.slice(full, [0, 0, 0, 0], [batchSize, inHeight, inWidth, inChannels])
    calls.release(result)
    return result
  } catch (error) {
    calls.release()
    throw error
  }
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput,
}
