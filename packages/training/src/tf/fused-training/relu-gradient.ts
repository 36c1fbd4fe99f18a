import type * as tfjs from '@tensorflow/tfjs'
import type { GradConfig, Tensor } from '@tensorflow/tfjs'

type Tf = typeof tfjs
type NamedGradientMap = ReturnType<GradConfig['gradFunc']>

/**
 * Gradient of `Relu` as dy·step(x) for float32 x: tfjs-core's own formula, dy·cast(step(x), 'float32'),
 * spends a third pass over the tensor on a float32→float32 Cast (a copy on `wasm`). Other dtypes keep it.
 */
export function createReluGradConfig(tf: Tf): GradConfig {
  return {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]): NamedGradientMap => {
      const gradient = dy as Tensor
      const [x] = saved as [Tensor]
      return { x: () => tf.mul(gradient, x.dtype === 'float32' ? tf.step(x) : tf.cast(tf.step(x), 'float32')) }
    },
  }
}
