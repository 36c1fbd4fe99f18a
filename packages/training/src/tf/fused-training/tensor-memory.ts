import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs'
import { TfBackendError } from '../errors.ts'
import { asHeapBackend } from '../wasm-kernels/heap.ts'

/** Backends whose float32 tensors JavaScript kernels can read and write in place. */
export const FLOAT_MEMORY_BACKENDS = ['wasm', 'cpu'] as const
export type FloatMemoryBackendName = (typeof FLOAT_MEMORY_BACKENDS)[number]

interface CpuStorage {
  data: { get(dataId: object): { values?: unknown } }
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo
}

/**
 * Float32 storage of one backend seen from a JavaScript kernel: outputs are allocated first, then every view
 * is taken (allocating on the wasm heap may grow it and detach earlier views).
 */
export interface FloatMemory {
  allocate(shape: number[]): TensorInfo
  view(info: TensorInfo): Float32Array
}

function requireFloat32(info: TensorInfo): void {
  if (info.dtype !== 'float32') throw new TfBackendError('tf_kernel_unsupported', `fused training kernels need float32 tensors, got ${info.dtype}`)
}

/** The wasm backend's heap: outputs are `makeOutput` buffers, views are `typedArrayFromHeap`. */
function wasmMemory(backend: KernelBackend): FloatMemory {
  const heap = asHeapBackend(backend)
  return {
    allocate: (shape) => heap.makeOutput(shape, 'float32'),
    view: (info) => {
      requireFloat32(info)
      return heap.typedArrayFromHeap(info) as Float32Array
    },
  }
}

/** The cpu backend's typed arrays: outputs are created with their values, which the kernel then fills. */
function cpuMemory(backend: KernelBackend): FloatMemory {
  const storage = backend as unknown as CpuStorage
  return {
    allocate: (shape) => storage.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((a, b) => a * b, 1))),
    view: (info) => {
      requireFloat32(info)
      const values = storage.data.get(info.dataId).values
      if (!(values instanceof Float32Array)) throw new TfBackendError('tf_kernel_unsupported', 'cpu tensor holds no float32 values')
      return values
    },
  }
}

export function floatMemory(backendName: FloatMemoryBackendName, backend: KernelBackend): FloatMemory {
  return backendName === 'wasm' ? wasmMemory(backend) : cpuMemory(backend)
}
