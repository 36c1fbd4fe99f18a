/** Protobuf wire types (the low three bits of a field tag). */
export const WireType = {
  varint: 0,
  fixed64: 1,
  lengthDelimited: 2,
  fixed32: 5,
} as const

const TWO_POW_32 = 2 ** 32
const textEncoder = new TextEncoder()

/** Byte values at least this long are kept by reference until {@link ProtoWriter.finish}, not copied. */
const REFERENCE_BYTES = 256

/**
 * A minimal, dependency-free protobuf wire-format writer: varints (int32/int64/uint64/enum/bool),
 * length-delimited fields (strings, bytes, nested messages, packed repeated scalars) and fixed 32/64-bit floats.
 * Fields are appended in call order; protobuf readers accept any field order.
 *
 * The output is a list of chunks joined once by {@link finish}: a nested message's chunks join its parent's and
 * large byte values (tensor data) are referenced, so each byte is copied once however deep it is nested.
 * As with protobufjs, a byte array passed to {@link bytes} must not change before {@link finish}.
 *
 * @example
 * const w = new ProtoWriter()
 * w.int64(1, 8).string(2, 'genimage').message(7, (graph) => graph.string(2, 'main'))
 * const bytes = w.finish()
 */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = []
  private chunkBytes = 0
  /** Scratch space for small writes; its first `used` bytes are output not yet moved to `chunks`. */
  private buffer = new Uint8Array(64)
  private view: DataView | undefined
  private used = 0

  /** Number of bytes written so far. */
  get byteLength(): number {
    return this.chunkBytes + this.used
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
      this.buffer[this.used++] = Number(remaining & 0x7fn) | 0x80
      remaining >>= 7n
    }
    this.buffer[this.used++] = Number(remaining)
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
    this.floatView().setFloat32(this.used, value, true)
    this.used += 4
    return this
  }

  /** 64-bit IEEE 754 double, little-endian (wire type 1). */
  double(field: number, value: number): this {
    this.tag(field, WireType.fixed64)
    this.reserve(8)
    this.floatView().setFloat64(this.used, value, true)
    this.used += 8
    return this
  }

  /** Length-delimited raw bytes (kept by reference when large: see the class note). */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.lengthDelimited).rawVarint(value.byteLength)
    if (value.byteLength >= REFERENCE_BYTES) return this.push([value], value.byteLength)
    this.reserve(value.byteLength)
    this.buffer.set(value, this.used)
    this.used += value.byteLength
    return this
  }

  /** UTF-8 string. Short ASCII strings (most ONNX names) are written in place, without an encoder call. */
  string(field: number, value: string): this {
    if (value.length < 0x80) {
      this.reserve(16 + value.length)
      const start = this.used
      this.tag(field, WireType.lengthDelimited)
      const at = this.used + 1
      let i = 0
      for (; i < value.length; i++) {
        const code = value.charCodeAt(i)
        if (code >= 0x80) break
        this.buffer[at + i] = code
      }
      if (i === value.length) {
        this.buffer[at - 1] = value.length
        this.used = at + value.length
        return this
      }
      this.used = start
    }
    return this.bytes(field, textEncoder.encode(value))
  }

  /** A nested message, written by `build` into its own writer, or already-encoded message bytes. */
  message(field: number, build: ((writer: ProtoWriter) => void) | Uint8Array): this {
    if (build instanceof Uint8Array) return this.bytes(field, build)
    const nested = new ProtoWriter()
    build(nested)
    return this.embed(field, nested)
  }

  /** Packed repeated varints (int32/int64/uint64/enum). Writes nothing for an empty list. */
  packedVarints(field: number, values: ArrayLike<number | bigint>): this {
    if (values.length === 0) return this
    const packed = new ProtoWriter()
    for (let i = 0; i < values.length; i++) packed.rawVarint(values[i]!)
    return this.embed(field, packed)
  }

  /** Packed repeated 32-bit floats. Writes nothing for an empty list. */
  packedFloats(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this
    this.tag(field, WireType.lengthDelimited).rawVarint(values.length * 4)
    this.reserve(values.length * 4)
    const view = this.floatView()
    for (let i = 0; i < values.length; i++) {
      view.setFloat32(this.used, values[i]!, true)
      this.used += 4
    }
    return this
  }

  /** The bytes written so far (a copy; the writer can keep being used). */
  finish(): Uint8Array {
    const out = new Uint8Array(this.byteLength)
    let offset = 0
    for (const chunk of this.chunks) {
      out.set(chunk, offset)
      offset += chunk.byteLength
    }
    out.set(this.buffer.subarray(0, this.used), offset)
    return out
  }

  private unsignedNumberVarint(value: number): this {
    this.reserve(10)
    let low = value % TWO_POW_32
    let high = Math.floor(value / TWO_POW_32)
    while (high > 0 || low >= 0x80) {
      this.buffer[this.used++] = (low & 0x7f) | 0x80
      low = (low >>> 7) | ((high & 0x7f) << 25)
      low >>>= 0
      high = Math.floor(high / 128)
    }
    this.buffer[this.used++] = low
    return this
  }

  /** A length-delimited field holding what `nested` wrote: copied when small, else its chunks joined as they are. */
  private embed(field: number, nested: ProtoWriter): this {
    if (nested.chunkBytes === 0 && nested.used < REFERENCE_BYTES) return this.bytes(field, nested.buffer.subarray(0, nested.used))
    nested.seal()
    this.tag(field, WireType.lengthDelimited).rawVarint(nested.chunkBytes)
    return this.push(nested.chunks, nested.chunkBytes)
  }

  /** Appends chunks after what the scratch buffer holds. */
  private push(chunks: readonly Uint8Array[], byteLength: number): this {
    this.seal()
    for (const chunk of chunks) this.chunks.push(chunk)
    this.chunkBytes += byteLength
    return this
  }

  /** Moves the scratch buffer's bytes to the chunk list; later small writes go to the rest of the buffer. */
  private seal(): void {
    if (this.used === 0) return
    this.chunks.push(this.buffer.subarray(0, this.used))
    this.chunkBytes += this.used
    this.buffer = this.buffer.subarray(this.used)
    this.view = undefined
    this.used = 0
  }

  /** Room for `extra` more bytes in the scratch buffer: a fresh buffer when full (nothing is copied). */
  private reserve(extra: number): void {
    if (this.used + extra <= this.buffer.byteLength) return
    this.seal()
    if (extra <= this.buffer.byteLength) return
    this.buffer = new Uint8Array(Math.max(extra, 4096))
    this.view = undefined
  }

  private floatView(): DataView {
    if (!this.view) this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength)
    return this.view
  }
}
