import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs'

interface RefCountingBackend {
  incRef(dataId: object): void
}

/**
 * `Identity` (tensor clones: every tensor the gradient tape saves is one) sharing the input's memory with
 * a reference count, as the `cpu` backend and wasm's own `Reshape` do, instead of copying it. Strings go to
 * `fallback`, the stock kernel.
 */
export function createSharedIdentity(fallback: KernelFunc): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo
    if (x.dtype === 'string') return fallback(args)
    ;(args.backend as unknown as RefCountingBackend).incRef(x.dataId)
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype }
  }
  return { kernelName: 'Identity', backendName: 'wasm', kernelFunc }
}
