import type { KernelConfig } from '@tensorflow/tfjs'
import type * as tfjs from '@tensorflow/tfjs'
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.ts'
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.ts'
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop.ts'
import { createLeadingAxesReduction } from './leading-axes-reduction.ts'
import { maxPoolGradConfig } from './max-pool-grad.ts'
import { createSharedIdentity } from './shared-identity.ts'
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

/** Stock kernels wrapped rather than replaced: a faster path for common cases, the stock kernel for the rest. */
const WRAPPED_KERNELS: ReadonlyArray<[string, (stock: KernelConfig['kernelFunc']) => KernelConfig]> = [
  ['Sum', (stock) => createLeadingAxesReduction('Sum', stock)],
  ['Mean', (stock) => createLeadingAxesReduction('Mean', stock)],
  ['Identity', createSharedIdentity],
]
const wrappers = new Set<KernelConfig['kernelFunc']>()

/**
 * Registers the project's training kernels for `wasm` (idempotent): `Conv2DBackpropFilter` (missing in the
 * stock package), a stride-phase `Conv2DBackpropInput` (the stock one is plain loops) and a correct
 * `MaxPoolGrad`, plus the depthwise-convolution backprops and `UnsortedSegmentSum` (gather's gradient)
 * that the stock package lacks; `Sum` and `Mean` over leading axes skip the stock kernels' full transpose, and
 * `Identity` shares memory instead of copying.
 * Returns the names registered by this call.
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
  for (const [kernelName, wrap] of WRAPPED_KERNELS) {
    const stock = tf.getKernel(kernelName, 'wasm')
    if (stock == null || wrappers.has(stock.kernelFunc)) continue
    const wrapper = wrap(stock.kernelFunc)
    wrappers.add(wrapper.kernelFunc)
    tf.unregisterKernel(kernelName, 'wasm')
    tf.registerKernel(wrapper)
    registered.push(kernelName)
  }
  return registered
}
