import type * as tfjs from '@tensorflow/tfjs'
import type { Tensor } from '@tensorflow/tfjs'
import { batchNormTraining, hasFusedBatchNorm } from './batch-norm-training.ts'

type Tf = typeof tfjs
type Kwargs = Record<string, unknown>

interface LayerVariable {
  read(): Tensor
  write(value: Tensor): void
}

/** The fields of tfjs-layers' BatchNormalization that its training-mode `call` reads. */
interface BatchNormalizationLayer {
  axis: number
  momentum: number
  epsilon: number
  gamma?: LayerVariable
  beta?: LayerVariable
  movingMean: LayerVariable
  movingVariance: LayerVariable
}

type Call = (this: BatchNormalizationLayer, inputs: Tensor | Tensor[], kwargs: Kwargs) => Tensor | Tensor[]

const patched = new WeakSet<object>()

function batchNormalizationPrototype(tf: Tf): { call: Call } | undefined {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization as unknown as [{ prototype: { call: Call } }] | undefined
  return entry?.[0].prototype
}

/** The same arithmetic as tfjs-layers' moving-average update (so results stay bit-identical). */
function updateMovingAverage(tf: Tf, variable: LayerVariable, value: Tensor, momentum: number): void {
  tf.tidy(() => {
    const current = variable.read()
    variable.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - momentum)))
  })
}

/**
 * Makes `tf.layers.batchNormalization` layers normalise over the last axis in training with
 * `batchNormTraining` (one fused kernel forward and one backward) instead of tf.moments + tf.batchNorm,
 * updating the moving statistics exactly as tfjs-layers does. Every other case (inference, another axis,
 * no scale or centre, a backend without the kernels) runs tfjs-layers' own code. Idempotent; returns
 * whether this call installed it.
 */
export function useFusedLayersBatchNorm(tf: Tf): boolean {
  const prototype = batchNormalizationPrototype(tf)
  if (prototype == null || patched.has(prototype)) return false
  const stock = prototype.call
  prototype.call = function fusedBatchNormalizationCall(this: BatchNormalizationLayer, inputs, kwargs) {
    const input = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs
    const training = (kwargs?.training as boolean | undefined) ?? false
    const usable = training && input != null && input.dtype === 'float32' && input.rank >= 2
    const axis = input == null ? -1 : this.axis >= 0 ? this.axis : this.axis + input.rank
    if (!usable || axis !== input.rank - 1 || this.gamma == null || this.beta == null || !hasFusedBatchNorm(tf)) {
      return stock.call(this, inputs, kwargs)
    }
    const { gamma, beta } = this
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(tf, input, gamma.read(), beta.read(), this.epsilon)
      updateMovingAverage(tf, this.movingMean, mean, this.momentum)
      updateMovingAverage(tf, this.movingVariance, variance, this.momentum)
      return y
    })
  }
  patched.add(prototype)
  return true
}
