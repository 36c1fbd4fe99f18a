import type { AttributeMessage, AttributeValue, TensorData } from './messages.ts'
import { OnnxBuildError } from './errors.ts'
import { tensorMessage } from './tensors.ts'

/** A value the builder turns into an attribute; plain values are typed by {@link inferAttribute}. */
export type AttributeInput =
  | number
  | bigint
  | string
  | readonly number[]
  | readonly bigint[]
  | readonly string[]
  | Float32Array
  | BigInt64Array
  | AttributeValue

/** Node attributes; `undefined` entries are skipped, so optional settings can be passed through. */
export type Attributes = Readonly<Record<string, AttributeInput | undefined>>

/**
 * Explicitly typed attribute values, for the cases inference would get wrong
 * (e.g. a float attribute whose value happens to be whole: `{ alpha: attr.float(1) }`).
 */
export const attr = {
  float: (value: number): AttributeValue => ({ type: 'float', value }),
  int: (value: number | bigint): AttributeValue => ({ type: 'int', value }),
  string: (value: string): AttributeValue => ({ type: 'string', value }),
  floats: (value: ArrayLike<number>): AttributeValue => ({ type: 'floats', value }),
  ints: (value: ArrayLike<number | bigint>): AttributeValue => ({ type: 'ints', value }),
  strings: (value: readonly string[]): AttributeValue => ({ type: 'strings', value }),
  tensor: (data: TensorData, dims: readonly number[]): AttributeValue => ({
    type: 'tensor',
    value: tensorMessage('value', data, dims),
  }),
}

/**
 * Attribute names that are floats in every standard ONNX operator that has them, so a whole number such
 * as `epsilon: 1` or `alpha: 1` is still written as FLOAT.
 */
export const FLOAT_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set([
  'alpha',
  'beta',
  'gamma',
  'epsilon',
  'momentum',
  'bias',
  'lambd',
  'extrapolation_value',
  'cubic_coeff_a',
  'value_float',
])
const FLOATS_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set(['scales', 'value_floats', 'activation_alpha', 'activation_beta'])

const ATTRIBUTE_TYPES = new Set(['float', 'int', 'string', 'tensor', 'floats', 'ints', 'strings'])

function isTypedAttribute(value: unknown): value is AttributeValue {
  return typeof value === 'object' && value !== null && 'type' in value && ATTRIBUTE_TYPES.has(String(value.type))
}

/**
 * Chooses the ONNX attribute type of a plain value: whole numbers are INT (FLOAT for the names in
 * {@link FLOAT_ATTRIBUTE_NAMES}), other numbers FLOAT, number arrays INTS when all whole (else FLOATS),
 * bigints INT/INTS, strings STRING/STRINGS, Float32Array FLOATS.
 */
export function inferAttribute(name: string, value: AttributeInput): AttributeMessage {
  if (isTypedAttribute(value)) return checked(name, { ...value, name })
  if (typeof value === 'number') {
    const isFloat = FLOAT_ATTRIBUTE_NAMES.has(name) || !Number.isInteger(value)
    return checked(name, { name, type: isFloat ? 'float' : 'int', value })
  }
  if (typeof value === 'bigint') return { name, type: 'int', value }
  if (typeof value === 'string') return { name, type: 'string', value }
  if (value instanceof Float32Array) return checked(name, { name, type: 'floats', value })
  if (value instanceof BigInt64Array) return { name, type: 'ints', value }
  if (Array.isArray(value)) {
    const items: readonly unknown[] = value
    if (items.every((item) => typeof item === 'string')) {
      if (items.length > 0) return { name, type: 'strings', value: items as readonly string[] }
    }
    if (items.every((item) => typeof item === 'bigint')) return { name, type: 'ints', value: items as bigint[] }
    if (items.every((item) => typeof item === 'number')) {
      const numbers = items as readonly number[]
      const isFloats = FLOATS_ATTRIBUTE_NAMES.has(name) || !numbers.every(Number.isInteger)
      return checked(name, { name, type: isFloats ? 'floats' : 'ints', value: numbers })
    }
  }
  throw new OnnxBuildError('invalid_attribute', `attribute "${name}" has an unsupported value: ${String(value)}`)
}

function checked(name: string, attribute: AttributeMessage): AttributeMessage {
  const fail = (why: string): never => {
    throw new OnnxBuildError('invalid_attribute', `attribute "${name}" ${why}`)
  }
  switch (attribute.type) {
    case 'float':
      if (!Number.isFinite(attribute.value)) fail(`must be a finite float, got ${attribute.value}`)
      break
    case 'int':
      if (typeof attribute.value === 'number' && !Number.isSafeInteger(attribute.value)) {
        fail(`must be a safe integer, got ${attribute.value}`)
      }
      break
    case 'floats':
      for (let i = 0; i < attribute.value.length; i++) {
        if (!Number.isFinite(attribute.value[i])) fail(`must hold finite floats, got ${attribute.value[i]}`)
      }
      break
    case 'ints':
      for (let i = 0; i < attribute.value.length; i++) {
        const item = attribute.value[i]
        if (typeof item === 'number' && !Number.isSafeInteger(item)) fail(`must hold safe integers, got ${item}`)
      }
      break
    default:
      break
  }
  return attribute
}
