import type * as tfjs from '@tensorflow/tfjs'
import type { GradConfig, KernelBackend, KernelConfig, KernelFunc, Tensor, TensorInfo } from '@tensorflow/tfjs'
import { FLOAT_MEMORY_BACKENDS, floatMemory, type FloatMemoryBackendName } from './tensor-memory.ts'

type Tf = typeof tfjs
type NamedGradientMap = ReturnType<GradConfig['gradFunc']>

/** dx = dy where x > 0, else 0: the ReLU gradient in one pass. */
export const RELU_GRAD = 'GenimageReluGrad'

function reluGradKernel(backendName: FloatMemoryBackendName): KernelFunc {
  return ({ inputs, backend }) => {
    const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo }
    const memory = floatMemory(backendName, backend as unknown as KernelBackend)
    const dxInfo = memory.allocate([...x.shape])
    const [dys, xs, dxs] = [dy, x, dxInfo].map((t) => memory.view(t)) as [Float32Array, Float32Array, Float32Array]
    for (let i = 0; i < xs.length; i++) dxs[i] = xs[i]! > 0 ? dys[i]! : 0
    return dxInfo
  }
}

/** The one-pass ReLU gradient kernel for `wasm` and `cpu`. */
export const RELU_GRAD_KERNELS: readonly KernelConfig[] = FLOAT_MEMORY_BACKENDS.map((backendName) => ({
  kernelName: RELU_GRAD, backendName, kernelFunc: reluGradKernel(backendName),
}))

/**
 * Gradient of `Relu` through `GenimageReluGrad` where the backend has it; elsewhere (and for non-float32
 * tensors) tfjs-core's own formulation, dy·cast(step(x)), which costs three passes (Step, Cast, Multiply).
 */
export function createReluGradConfig(tf: Tf): GradConfig {
  return {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]): NamedGradientMap => {
      const gradient = dy as Tensor
      const [x] = saved as [Tensor]
      const fused = tf.getKernel(RELU_GRAD, tf.getBackend()) != null && x.dtype === 'float32' && gradient.dtype === 'float32'
      return {
        x: () => (fused ? (tf.engine().runKernel(RELU_GRAD, { dy: gradient, x }) as Tensor) : tf.mul(gradient, tf.cast(tf.step(x), 'float32'))),
      }
    },
  }
}
