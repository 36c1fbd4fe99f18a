import { INFERENCE_HEADER_LENGTH, InferRequest } from '../contracts/inference.ts'

/** Serialises BYTES elements the way OIP's binary extension does: each a 4-byte little-endian length, then the bytes. */
export function encodeBytesTensor(elements: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const total = elements.reduce((sum, e) => sum + 4 + e.byteLength, 0)
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  let offset = 0
  for (const element of elements) {
    view.setUint32(offset, element.byteLength, true)
    out.set(element, offset + 4)
    offset += 4 + element.byteLength
  }
  return out
}

/** Splits a binary BYTES tensor back into its elements; throws when the lengths do not add up. */
export function decodeBytesTensor(data: Uint8Array, count: number): Uint8Array[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const elements: Uint8Array[] = []
  let offset = 0
  for (let i = 0; i < count; i++) {
    if (offset + 4 > data.byteLength) throw new RangeError(`BYTES tensor ends before element ${i}`)
    const length = view.getUint32(offset, true)
    offset += 4
    if (offset + length > data.byteLength) throw new RangeError(`BYTES element ${i} overruns the tensor`)
    elements.push(data.subarray(offset, offset + length))
    offset += length
  }
  if (offset !== data.byteLength) throw new RangeError('BYTES tensor has trailing bytes')
  return elements
}

/** A request body in OIP's binary-data form: JSON header, then each binary input's bytes in input order. */
export function encodeBinaryInferRequest(
  header: InferRequest,
  binaries: readonly Uint8Array[],
): { body: Uint8Array<ArrayBuffer>; headers: Record<string, string> } {
  const json = new TextEncoder().encode(JSON.stringify(header))
  const body = new Uint8Array(json.byteLength + binaries.reduce((s, b) => s + b.byteLength, 0))
  body.set(json, 0)
  let offset = json.byteLength
  for (const b of binaries) {
    body.set(b, offset)
    offset += b.byteLength
  }
  return {
    body,
    headers: {
      'content-type': 'application/octet-stream',
      [INFERENCE_HEADER_LENGTH]: String(json.byteLength),
    },
  }
}

/**
 * Parses an OIP request body, JSON or binary-data form, and attaches each binary input's bytes.
 * Throws `InferBodyError` naming what is wrong.
 */
export function decodeInferRequest(body: Uint8Array, headerLength: string | null): { request: InferRequest; binary: Map<string, Uint8Array> } {
  const jsonLength = headerLength === null ? body.byteLength : Number(headerLength)
  if (!Number.isInteger(jsonLength) || jsonLength < 0 || jsonLength > body.byteLength) {
    throw new InferBodyError(`${INFERENCE_HEADER_LENGTH} must be an integer within the body length`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(body.subarray(0, jsonLength)))
  } catch {
    throw new InferBodyError('request header is not valid JSON')
  }
  const result = InferRequest.safeParse(parsed)
  if (!result.success) throw new InferBodyError(`invalid inference request: ${result.error.issues[0]?.message ?? ''}`)
  const binary = new Map<string, Uint8Array>()
  let offset = jsonLength
  for (const input of result.data.inputs) {
    const size = input.parameters?.binary_data_size
    if (size === undefined) continue
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || offset + size > body.byteLength) {
      throw new InferBodyError(`input ${input.name}: binary_data_size does not fit the body`)
    }
    binary.set(input.name, body.subarray(offset, offset + size))
    offset += size
  }
  if (offset !== body.byteLength) throw new InferBodyError('body has bytes no input claims')
  return { request: result.data, binary }
}

export class InferBodyError extends Error {
  override name = 'InferBodyError'
}
