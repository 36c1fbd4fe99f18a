import type * as tfjs from '@tensorflow/tfjs'
import { BATCH_NORM_KERNELS } from './batch-norm-kernels.ts'
import { createBatchNormTrainingGradConfig } from './batch-norm-training.ts'
import { useFusedLayersBatchNorm } from './layers-batch-norm.ts'
import { createReluGradConfig } from './relu-gradient.ts'

let gradientsRegistered = false

/**
 * Registers the fused training kernels for `wasm` and `cpu` (batch norm in training mode, forward and
 * gradient) with its gradient config, replaces tfjs-core's `Relu` gradient (no float32 Cast),
 * and routes tfjs-layers' BatchNormalization through the fused kernels (`useFusedLayersBatchNorm`).
 * Idempotent; returns the kernel names registered by this call.
 */
export function registerFusedTrainingKernels(tf: typeof tfjs): string[] {
  const registered: string[] = []
  for (const config of BATCH_NORM_KERNELS) {
    if (tf.getKernel(config.kernelName, config.backendName) != null) continue
    tf.registerKernel(config)
    registered.push(`${config.kernelName}@${config.backendName}`)
  }
  if (!gradientsRegistered) {
    tf.registerGradient(createBatchNormTrainingGradConfig(tf))
    tf.registerGradient(createReluGradConfig(tf))
    gradientsRegistered = true
  }
  useFusedLayersBatchNorm(tf)
  return registered
}
