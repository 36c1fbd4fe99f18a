import type { KernelBackend, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs'
import { getKernel } from '@tensorflow/tfjs'
import { TfBackendError } from '../errors.ts'

/**
 * Calls other `wasm` kernels from inside a kernel, on TensorInfos, bypassing the engine (no tape, no
 * scopes): every intermediate must be released with `release`.
 */
export class WasmKernelCalls {
  readonly backend: KernelBackend
  private readonly temporaries: TensorInfo[] = []

  constructor(backend: KernelBackend) {
    this.backend = backend
  }

  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: object = {}): TensorInfo {
    const kernel = getKernel(kernelName, 'wasm')
    if (kernel == null) throw new TfBackendError('tf_kernel_unsupported', `wasm kernel '${kernelName}' is missing`)
    const out = kernel.kernelFunc({ inputs, attrs: attrs as NamedAttrMap, backend: this.backend })
    const info = Array.isArray(out) ? out[0] : out
    if (info == null) throw new TfBackendError('tf_kernel_unsupported', `wasm kernel '${kernelName}' returned nothing`)
    this.temporaries.push(info)
    return info
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm })
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape })
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size })
  }

  /** Pads (positive amounts) or crops (negative amounts) each axis: `[before, after]` per axis. */
  padOrCrop(x: TensorInfo, amounts: Array<[number, number]>): TensorInfo {
    const crop = amounts.some(([a, b]) => a < 0 || b < 0)
    const padded = amounts.some(([a, b]) => a > 0 || b > 0)
      ? this.run('PadV2', { x }, { paddings: amounts.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)]), constantValue: 0 })
      : x
    if (!crop) return padded
    const begin = amounts.map(([a]) => Math.max(-a, 0))
    const size = padded.shape.map((d, axis) => {
      const [a, b] = amounts[axis] ?? [0, 0]
      return d - Math.max(-a, 0) - Math.max(-b, 0)
    })
    return this.slice(padded, begin, size)
  }

  /** Keeps `keep` from being released (the kernel's output); releases every other intermediate. */
  release(keep?: TensorInfo): void {
    for (const info of this.temporaries) {
      if (info !== keep) this.backend.disposeData(info.dataId)
    }
    this.temporaries.length = 0
  }
}
