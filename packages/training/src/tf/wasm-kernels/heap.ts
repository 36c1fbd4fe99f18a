import type { TensorInfo } from '@tensorflow/tfjs'

/** The parts of tfjs-backend-wasm's BackendWasm that kernels written in JavaScript use. */
export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: 'float32' | 'int32'): TensorInfo
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array
}

export function asHeapBackend(backend: unknown): WasmHeapBackend {
  return backend as WasmHeapBackend
}
