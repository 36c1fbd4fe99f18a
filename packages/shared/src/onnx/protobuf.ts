/** Protobuf wire types (the low three bits of a field tag). */
export const WireType = {
  varint: 0,
  fixed64: 1,
  lengthDelimited: 2,
  fixed32: 5,
} as const

const TWO_POW_32 = 2 ** 32
const textEncoder = new TextEncoder()

/**
 * A minimal, dependency-free protobuf wire-format writer: varints (int32/int64/uint64/enum/bool),
 * length-delimited fields (strings, bytes, nested messages, packed repeated scalars) and fixed 32/64-bit floats.
 * Fields are appended in call order; protobuf readers accept any field order.
 *
 * @example
 * const w = new ProtoWriter()
 * w.int64(1, 8).string(2, 'genimage').message(7, (graph) => graph.string(2, 'main'))
 * const bytes = w.finish()
 */
export class ProtoWriter {
  private buffer = new Uint8Array(256)
  private view = new DataView(this.buffer.buffer)
  private length = 0

  /** Number of bytes written so far. */
  get byteLength(): number {
    return this.length
  }

  /** Writes a tag (field number + wire type). */
  tag(field: number, wireType: number): this {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) {
      throw new RangeError(`protobuf field number must be an integer in [1, 2^29 - 1], got ${field}`)
    }
    return this.rawVarint(field * 8 + wireType)
  }

  /** Writes an unsigned varint with no tag. Negative values are written as their 64-bit two's complement. */
  rawVarint(value: number | bigint): this {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new RangeError(`varint value must be a safe integer, got ${value}`)
      if (value >= 0) return this.unsignedNumberVarint(value)
      value = BigInt(value)
    }
    if (value > 0xffffffffffffffffn || value < -0x8000000000000000n) {
      throw new RangeError(`varint value ${value} does not fit in 64 bits`)
    }
    let remaining = BigInt.asUintN(64, value)
    this.reserve(10)
    while (remaining >= 0x80n) {
      this.buffer[this.length++] = Number(remaining & 0x7fn) | 0x80
      remaining >>= 7n
    }
    this.buffer[this.length++] = Number(remaining)
    return this
  }

  /** int64 / uint64 / int32 / enum field (varint). Negative int32 and int64 values take ten bytes, as protobuf requires. */
  int64(field: number, value: number | bigint): this {
    return this.tag(field, WireType.varint).rawVarint(value)
  }

  /** Alias of {@link int64}: protobuf encodes int32 and int64 identically on the wire. */
  int32(field: number, value: number): this {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
      throw new RangeError(`int32 field ${field} out of range: ${value}`)
    }
    return this.int64(field, value)
  }

  bool(field: number, value: boolean): this {
    return this.int64(field, value ? 1 : 0)
  }

  /** 32-bit IEEE 754 float, little-endian (wire type 5). */
  float(field: number, value: number): this {
    this.tag(field, WireType.fixed32)
    this.reserve(4)
    this.view.setFloat32(this.length, value, true)
    this.length += 4
    return this
  }

  /** 64-bit IEEE 754 double, little-endian (wire type 1). */
  double(field: number, value: number): this {
    this.tag(field, WireType.fixed64)
    this.reserve(8)
    this.view.setFloat64(this.length, value, true)
    this.length += 8
    return this
  }

  /** Length-delimited raw bytes. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.lengthDelimited).rawVarint(value.byteLength)
    this.reserve(value.byteLength)
    this.buffer.set(value, this.length)
    this.length += value.byteLength
    return this
  }

  /** UTF-8 string. */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value))
  }

  /** A nested message, written by `build` into its own writer, or already-encoded message bytes. */
  message(field: number, build: ((writer: ProtoWriter) => void) | Uint8Array): this {
    if (build instanceof Uint8Array) return this.bytes(field, build)
    const nested = new ProtoWriter()
    build(nested)
    return this.bytes(field, nested.finish())
  }

  /** Packed repeated varints (int32/int64/uint64/enum). Writes nothing for an empty list. */
  packedVarints(field: number, values: ArrayLike<number | bigint>): this {
    if (values.length === 0) return this
    const packed = new ProtoWriter()
    for (let i = 0; i < values.length; i++) packed.rawVarint(values[i]!)
    return this.bytes(field, packed.finish())
  }

  /** Packed repeated 32-bit floats. Writes nothing for an empty list. */
  packedFloats(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this
    this.tag(field, WireType.lengthDelimited).rawVarint(values.length * 4)
    this.reserve(values.length * 4)
    for (let i = 0; i < values.length; i++) {
      this.view.setFloat32(this.length, values[i]!, true)
      this.length += 4
    }
    return this
  }

  /** The bytes written so far (a copy; the writer can keep being used). */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length)
  }

  private unsignedNumberVarint(value: number): this {
    this.reserve(10)
    let low = value % TWO_POW_32
    let high = Math.floor(value / TWO_POW_32)
    while (high > 0 || low >= 0x80) {
      this.buffer[this.length++] = (low & 0x7f) | 0x80
      low = (low >>> 7) | ((high & 0x7f) << 25)
      low >>>= 0
      high = Math.floor(high / 128)
    }
    this.buffer[this.length++] = low
    return this
  }

  private reserve(extra: number): void {
    const needed = this.length + extra
    if (needed <= this.buffer.byteLength) return
    let capacity = this.buffer.byteLength * 2
    while (capacity < needed) capacity *= 2
    const grown = new Uint8Array(capacity)
    grown.set(this.buffer.subarray(0, this.length))
    this.buffer = grown
    this.view = new DataView(grown.buffer)
  }
}
