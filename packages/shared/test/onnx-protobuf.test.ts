import { describe, expect, it } from 'vitest'
import { ProtoWriter } from '../src/onnx/protobuf.ts'
import { readFields, unpackVarints } from './onnx-wire-reader.ts'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe('ProtoWriter', () => {
  it('writes the protobuf documentation examples byte for byte', () => {
    expect(hex(new ProtoWriter().int64(1, 150).finish())).toBe('089601')
    expect(hex(new ProtoWriter().string(2, 'testing').finish())).toBe('120774657374696e67')
    expect(hex(new ProtoWriter().message(3, (m) => m.int64(1, 150)).finish())).toBe('1a03089601')
    expect(hex(new ProtoWriter().packedVarints(4, [3, 270, 86942]).finish())).toBe('2206038e029ea705')
  })

  it("writes negative int64 and int32 as ten-byte two's complement varints", () => {
    expect(hex(new ProtoWriter().int64(1, -1).finish())).toBe('08ffffffffffffffffff01')
    expect(hex(new ProtoWriter().int64(1, -2n).finish())).toBe('08feffffffffffffffff01')
    expect(hex(new ProtoWriter().int32(1, -1).finish())).toBe('08ffffffffffffffffff01')
    const [field] = readFields(new ProtoWriter().int64(1, -9_007_199_254_740_991).finish())
    expect(field?.wire === 0 && BigInt.asIntN(64, field.value)).toBe(-9_007_199_254_740_991n)
  })

  it('agrees between the number and bigint varint paths up to 2^53 and covers the full uint64 range', () => {
    for (const value of [0, 1, 127, 128, 16_383, 16_384, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 5, 2 ** 53 - 1]) {
      expect(hex(new ProtoWriter().rawVarint(value).finish())).toBe(hex(new ProtoWriter().rawVarint(BigInt(value)).finish()))
      const [field] = readFields(new ProtoWriter().int64(1, value).finish())
      expect(field?.wire === 0 && field.value).toBe(BigInt(value))
    }
    expect(hex(new ProtoWriter().rawVarint(0xffffffffffffffffn).finish())).toBe('ffffffffffffffffff01')
    expect(() => new ProtoWriter().rawVarint(2n ** 64n)).toThrow(RangeError)
    expect(() => new ProtoWriter().rawVarint(2 ** 60)).toThrow(RangeError)
    expect(() => new ProtoWriter().int32(1, 2 ** 31)).toThrow(RangeError)
  })

  it('packs negative int64 values that a reader gets back', () => {
    const bytes = new ProtoWriter().packedVarints(8, [-1, 0, 3, -(2n ** 63n), 2n ** 63n - 1n]).finish()
    const [field] = readFields(bytes)
    expect(field?.field).toBe(8)
    expect(field?.wire).toBe(2)
    expect(unpackVarints(field!.value as Uint8Array)).toEqual([-1n, 0n, 3n, -(2n ** 63n), 2n ** 63n - 1n])
  })

  it('writes floats little-endian, alone and packed', () => {
    expect(hex(new ProtoWriter().float(1, 1).finish())).toBe('0d0000803f')
    expect(hex(new ProtoWriter().double(1, 1).finish())).toBe('09000000000000f03f')
    expect(hex(new ProtoWriter().packedFloats(1, [1, -2.5]).finish())).toBe('0a080000803f000020c0')
    expect(new ProtoWriter().packedFloats(1, []).byteLength).toBe(0)
    expect(new ProtoWriter().packedVarints(1, []).byteLength).toBe(0)
  })

  it('nests messages several levels deep with correct lengths', () => {
    const bytes = new ProtoWriter()
      .message(7, (graph) => {
        graph.string(2, 'g')
        graph.message(1, (node) => node.string(4, 'Relu').message(5, (a) => a.string(1, 'alpha').float(2, 0.5)))
      })
      .finish()
    const [graph] = readFields(bytes)
    expect(graph?.field).toBe(7)
    const graphFields = readFields(graph!.value as Uint8Array)
    expect(graphFields.map((f) => f.field)).toEqual([2, 1])
    const nodeFields = readFields(graphFields[1]!.value as Uint8Array)
    expect(new TextDecoder().decode(nodeFields[0]!.value as Uint8Array)).toBe('Relu')
    const attributeFields = readFields(nodeFields[1]!.value as Uint8Array)
    const f = attributeFields[1]!.value as Uint8Array
    expect(new DataView(f.buffer, f.byteOffset, 4).getFloat32(0, true)).toBe(0.5)
  })

  it('grows past its initial buffer without corrupting earlier bytes', () => {
    const payload = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff)
    const bytes = new ProtoWriter().int64(1, 42).bytes(9, payload).string(2, 'end').finish()
    const fields = readFields(bytes)
    expect(fields.map((f) => f.field)).toEqual([1, 9, 2])
    expect(Buffer.from(fields[1]!.value as Uint8Array).equals(Buffer.from(payload))).toBe(true)
  })

  it('keeps large nested byte fields and the small writes around them in order, and can finish twice', () => {
    const weights = new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff)
    const writer = new ProtoWriter()
      .string(2, 'main')
      .message(7, (graph) => {
        for (const name of ['w0', 'w1']) graph.message(5, (t) => t.packedVarints(1, [100, 700]).bytes(9, weights).string(8, name))
        graph.float(3, 0.25)
      })
      .int64(1, 9)
    const first = writer.finish()
    expect(hex(writer.finish())).toBe(hex(first))
    const [name, graph, version] = readFields(first)
    expect([name?.field, graph?.field, version]).toEqual([2, 7, { field: 1, wire: 0, value: 9n }])
    const graphFields = readFields(graph!.value as Uint8Array)
    expect(graphFields.map((f) => f.field)).toEqual([5, 5, 3])
    for (const [i, tensor] of graphFields.slice(0, 2).entries()) {
      const [dims, data, tensorName] = readFields(tensor.value as Uint8Array)
      expect(unpackVarints(dims!.value as Uint8Array)).toEqual([100n, 700n])
      expect(Buffer.from(data!.value as Uint8Array).equals(Buffer.from(weights))).toBe(true)
      expect(new TextDecoder().decode(tensorName!.value as Uint8Array)).toBe(`w${i}`)
    }
  })

  it('writes ASCII, non-ASCII and long strings as UTF-8 with the right length', () => {
    expect(hex(new ProtoWriter().string(1, '').finish())).toBe('0a00')
    expect(hex(new ProtoWriter().string(1, 'é').finish())).toBe('0a02c3a9')
    for (const value of ['conv.weight', 'Größe/尺寸', 'x'.repeat(127), 'x'.repeat(128), `${'n'.repeat(200)}é`]) {
      const [field] = readFields(new ProtoWriter().string(4, value).int64(5, 1).finish())
      expect(field?.field).toBe(4)
      expect(new TextDecoder().decode(field!.value as Uint8Array)).toBe(value)
    }
  })

  it('rejects invalid field numbers', () => {
    expect(() => new ProtoWriter().int64(0, 1)).toThrow(RangeError)
    expect(() => new ProtoWriter().int64(2 ** 29, 1)).toThrow(RangeError)
  })
})
