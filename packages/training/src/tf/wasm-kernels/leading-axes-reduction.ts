import type { KernelConfig, KernelFunc, SumAttrs, TensorInfo } from '@tensorflow/tfjs'
import { util } from '@tensorflow/tfjs'
import { asHeapBackend } from './heap.ts'

type Reduction = 'Sum' | 'Mean'

/** The number of leading axes `axis` names when it is exactly 0..k-1 (k < rank), else 0. */
function leadingAxesCount(axis: number | number[], rank: number): number {
  const axes = util.parseAxisParam(axis, new Array<number>(rank).fill(1)).sort((a, b) => a - b)
  const leading = axes.every((a, i) => a === i)
  return leading && axes.length < rank ? axes.length : 0
}

/** totals[j] += Σ over rows of values[row·width + j], four rows per step (a quarter of the accumulator traffic). */
function addColumns(values: Float32Array, rows: number, width: number, totals: Float64Array): void {
  let row = 0
  for (; row + 4 <= rows; row += 4) {
    const base = row * width
    for (let j = 0; j < width; j++) {
      const i = base + j
      totals[j] = totals[j]! + (values[i]! + values[i + width]! + (values[i + 2 * width]! + values[i + 3 * width]!))
    }
  }
  for (; row < rows; row++) {
    const base = row * width
    for (let j = 0; j < width; j++) totals[j] = totals[j]! + values[base + j]!
  }
}

/**
 * Sum or Mean over leading axes (batch and spatial axes of NHWC tensors: bias and batch-norm gradients,
 * batch statistics) as column sums straight over the wasm heap, with float64 accumulation. The stock kernels
 * transpose the whole tensor first; every other case still goes to `fallback`, the stock kernel.
 */
export function createLeadingAxesReduction(kernelName: Reduction, fallback: KernelFunc): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo
    const { axis, keepDims } = args.attrs as unknown as SumAttrs
    const count = x.dtype === 'float32' ? leadingAxesCount(axis, x.shape.length) : 0
    if (count === 0) return fallback(args)
    const heap = asHeapBackend(args.backend)
    const rows = util.sizeFromShape(x.shape.slice(0, count))
    const keptShape = x.shape.slice(count)
    const width = util.sizeFromShape(keptShape)
    const totals = new Float64Array(width)
    const outShape = keepDims ? [...new Array<number>(count).fill(1), ...keptShape] : keptShape
    const out = heap.makeOutput(outShape, 'float32')
    const values = heap.typedArrayFromHeap(x) as Float32Array
    addColumns(values, rows, width, totals)
    const result = heap.typedArrayFromHeap(out) as Float32Array
    const scale = kernelName === 'Mean' ? 1 / rows : 1
    for (let j = 0; j < width; j++) result[j] = (totals[j] as number) * scale
    return out
  }
  return { kernelName, backendName: 'wasm', kernelFunc }
}
