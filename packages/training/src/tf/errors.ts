import { CodedError } from '@genimage/shared'

/** Stable machine-readable codes for failures of the tfjs backend layer. */
export type TfErrorCode = 'tf_backend_unavailable' | 'tf_backend_unknown' | 'tf_kernel_unsupported' | 'tf_conv_mode_unknown'

/** An error from the tfjs backend layer, carrying a stable `code`. */
export class TfBackendError extends CodedError<TfErrorCode> {}
