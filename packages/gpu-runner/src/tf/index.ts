export { TfBackendError, type TfErrorCode } from './errors.ts'
export {
  resolveTfBackend,
  wasmBinaryFolder,
  TF_BACKEND_NAMES,
  type ResolveTfBackendOptions,
  type ResolvedTfBackend,
  type TfBackendFailure,
  type TfBackendName,
  type Tf,
} from './resolve-backend.ts'
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './wasm-kernels/register.ts'
export { createBatchNormGradConfig, registerBatchNormGradient } from './batch-norm-gradient.ts'
