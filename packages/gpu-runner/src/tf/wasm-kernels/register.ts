import type { KernelConfig } from '@tensorflow/tfjs'
import type * as tfjs from '@tensorflow/tfjs'
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.ts'
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.ts'
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop.ts'
import { maxPoolGradConfig } from './max-pool-grad.ts'
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.ts'

/** Kernels this module registers for the `wasm` backend, replacing any stock kernel of the same name. */
export const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  maxPoolGradConfig,
  depthwiseBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  unsortedSegmentSumConfig,
]

/**
 * Registers the project's training kernels for `wasm` (idempotent): `Conv2DBackpropFilter` (missing in the
 * stock package), a stride-phase `Conv2DBackpropInput` (the stock one is plain loops) and a correct
 * `MaxPoolGrad`, plus the depthwise-convolution backprops and `UnsortedSegmentSum` (gather's gradient)
 * that the stock package lacks. Returns the names registered by this call.
 */
export function registerWasmTrainingKernels(tf: typeof tfjs): string[] {
  const registered: string[] = []
  for (const config of WASM_TRAINING_KERNELS) {
    const current = tf.getKernel(config.kernelName, 'wasm')
    if (current?.kernelFunc === config.kernelFunc) continue
    if (current != null) tf.unregisterKernel(config.kernelName, 'wasm')
    tf.registerKernel(config)
    registered.push(config.kernelName)
  }
  return registered
}
