/**
 * An error a caller can act on: `code` is stable and machine-readable, `message` says what is wrong in words.
 * Packages subclass it with their own code union, e.g. `class DatasetError extends CodedError<DatasetErrorCode> {}`.
 */
export class CodedError<Code extends string> extends Error {
  readonly code: Code

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}
