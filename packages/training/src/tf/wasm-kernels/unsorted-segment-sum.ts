import type { KernelConfig, KernelFunc, TensorInfo, UnsortedSegmentSumAttrs } from '@tensorflow/tfjs'
import { util } from '@tensorflow/tfjs'
import { TfBackendError } from '../errors.ts'
import { asHeapBackend } from './heap.ts'

/**
 * Sums slices of `x` that share a segment id (the gradient of `gather`), on the wasm heap. Ids outside
 * `[0, numSegments)` are dropped, as TensorFlow does.
 */
export const unsortedSegmentSum: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo }
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new TfBackendError('tf_kernel_unsupported', `UnsortedSegmentSum on wasm supports float32 and int32, got ${x.dtype}`)
  }
  const heap = asHeapBackend(backend)
  const innerShape = x.shape.slice(segmentIds.shape.length)
  const inner = util.sizeFromShape(innerShape)
  const out = heap.makeOutput([numSegments, ...innerShape], x.dtype)
  const result = heap.typedArrayFromHeap(out)
  const values = heap.typedArrayFromHeap(x)
  const ids = heap.typedArrayFromHeap(segmentIds)
  result.fill(0)
  for (let s = 0; s < ids.length; s++) {
    const id = ids[s] as number
    if (id < 0 || id >= numSegments) continue
    const from = s * inner
    const to = id * inner
    for (let k = 0; k < inner; k++) result[to + k] = (result[to + k] as number) + (values[from + k] as number)
  }
  return out
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum,
}
