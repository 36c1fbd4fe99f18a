export { TfBackendError, type TfErrorCode } from './errors.ts'
export { readsSynchronously, withSynchronousReads } from './sync-reads.ts'
export {
  resolveTfBackend,
  TF_BACKEND_ENV,
  wantedTfBackend,
  type ResolveTfBackendOptions,
  type ResolvedTfBackend,
  type TfBackendFailure,
} from './resolve-backend.ts'
export {
  tfBackends,
  wasmBinaryFolder,
  TF_BACKEND_NAMES,
  type StartedTfBackend,
  type TfActivation,
  type TfBackendName,
  type TfStartSettings,
  type Tf,
} from './backends.ts'
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './wasm-kernels/register.ts'
export { createBatchNormGradConfig, registerBatchNormGradient } from './batch-norm-gradient.ts'
export {
  useConvKernels,
  wantedConvMode,
  CONV_KERNEL_MODES,
  CONV_MODE_ENV,
  type ConvKernelMode,
  type ConvKernelsStatus,
  type UseConvKernelsOptions,
} from './onnx-conv/register.ts'
export { OrtSessionCache } from './onnx-conv/ort-session-cache.ts'
export { registerFusedTrainingKernels } from './fused-training/register.ts'
export { batchNormTraining, hasFusedBatchNorm, type BatchNormTrainingResult } from './fused-training/batch-norm-training.ts'
export { useFusedLayersBatchNorm } from './fused-training/layers-batch-norm.ts'
