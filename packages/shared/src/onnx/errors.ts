/** Stable machine-readable reasons an ONNX graph cannot be built. */
export type OnnxBuildErrorCode =
  | 'duplicate_name'
  | 'unknown_value'
  | 'invalid_name'
  | 'invalid_dims'
  | 'data_size_mismatch'
  | 'invalid_attribute'
  | 'invalid_opset'
  | 'missing_output'

/** Thrown by the ONNX builder at the call that made the mistake, with a stable `code`. */
export class OnnxBuildError extends Error {
  override readonly name = 'OnnxBuildError'
  constructor(
    readonly code: OnnxBuildErrorCode,
    message: string,
  ) {
    super(message)
  }
}
