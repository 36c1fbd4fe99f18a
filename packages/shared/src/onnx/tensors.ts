import { OnnxBuildError } from './errors.ts'
import type { OnnxDataType, TensorData, TensorMessage } from './messages.ts'

/** The ONNX element type of a typed array. */
export function dataTypeOf(data: TensorData): OnnxDataType {
  if (data instanceof Float32Array) return 'float32'
  if (data instanceof BigInt64Array) return 'int64'
  if (data instanceof Int32Array) return 'int32'
  throw new OnnxBuildError('invalid_attribute', 'tensor data must be a Float32Array, Int32Array or BigInt64Array')
}

/** Checks dims (non-negative integers) against the element count and returns a TensorProto description. */
export function tensorMessage(name: string, data: TensorData, dims: readonly number[]): TensorMessage {
  for (const dim of dims) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new OnnxBuildError('invalid_dims', `tensor "${name}": dims must be non-negative integers, got [${dims.join(', ')}]`)
    }
  }
  const count = dims.reduce((product, dim) => product * dim, 1)
  if (count !== data.length) {
    throw new OnnxBuildError('data_size_mismatch', `tensor "${name}": dims [${dims.join(', ')}] hold ${count} elements but the data has ${data.length}`)
  }
  return { name, dataType: dataTypeOf(data), dims: [...dims], data }
}

/** A BigInt64Array from numbers or bigints (ONNX shape, axes and index inputs are int64). */
export function toInt64Array(values: ArrayLike<number | bigint>): BigInt64Array {
  const out = new BigInt64Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new OnnxBuildError('invalid_attribute', `int64 values must be safe integers, got ${value}`)
    }
    out[i] = BigInt(value)
  }
  return out
}
