/** Test-only protobuf reader: splits a message into its fields so tests can look inside what the writer produced. */
export type WireField =
  | { field: number; wire: 0; value: bigint }
  | { field: number; wire: 1; value: Uint8Array }
  | { field: number; wire: 2; value: Uint8Array }
  | { field: number; wire: 5; value: Uint8Array }

export function readVarint(bytes: Uint8Array, start: number): [bigint, number] {
  let result = 0n
  let shift = 0n
  let pos = start
  for (;;) {
    const byte = bytes[pos++]
    if (byte === undefined) throw new Error('truncated varint')
    result |= BigInt(byte & 0x7f) << shift
    if ((byte & 0x80) === 0) return [result, pos]
    shift += 7n
  }
}

export function readFields(bytes: Uint8Array): WireField[] {
  const fields: WireField[] = []
  let pos = 0
  while (pos < bytes.length) {
    const [tag, afterTag] = readVarint(bytes, pos)
    const field = Number(tag >> 3n)
    const wire = Number(tag & 7n)
    pos = afterTag
    if (wire === 0) {
      const [value, next] = readVarint(bytes, pos)
      fields.push({ field, wire, value })
      pos = next
    } else if (wire === 2) {
      const [length, next] = readVarint(bytes, pos)
      fields.push({ field, wire, value: bytes.subarray(next, next + Number(length)) })
      pos = next + Number(length)
    } else if (wire === 5 || wire === 1) {
      const size = wire === 5 ? 4 : 8
      fields.push({ field, wire, value: bytes.subarray(pos, pos + size) })
      pos += size
    } else {
      throw new Error(`unsupported wire type ${wire}`)
    }
  }
  if (pos !== bytes.length) throw new Error('message overran its length')
  return fields
}

export function fieldsNumbered(bytes: Uint8Array, field: number): WireField[] {
  return readFields(bytes).filter((f) => f.field === field)
}

export function onlyBytes(bytes: Uint8Array, field: number): Uint8Array {
  const found = fieldsNumbered(bytes, field)
  if (found.length !== 1 || found[0]!.wire !== 2) throw new Error(`expected one length-delimited field ${field}, got ${found.length}`)
  return found[0]!.value
}

export function onlyVarint(bytes: Uint8Array, field: number): bigint {
  const found = fieldsNumbered(bytes, field)
  if (found.length !== 1 || found[0]!.wire !== 0) throw new Error(`expected one varint field ${field}, got ${found.length}`)
  return found[0]!.value
}

export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes)
}

export function unpackVarints(bytes: Uint8Array): bigint[] {
  const values: bigint[] = []
  let pos = 0
  while (pos < bytes.length) {
    const [value, next] = readVarint(bytes, pos)
    values.push(BigInt.asIntN(64, value))
    pos = next
  }
  return values
}
