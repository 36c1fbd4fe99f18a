import { describe, expect, it } from 'vitest'
import { attr, OnnxBuildError, OnnxGraphBuilder } from '../src/onnx/index.ts'
import { fieldsNumbered, onlyBytes, onlyVarint, readFields, text, unpackVarints } from './onnx-wire-reader.ts'

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    if (error instanceof OnnxBuildError) return error.code
    throw error
  }
  return undefined
}

function attributesOf(node: Uint8Array): Map<string, { type: bigint; fields: ReturnType<typeof readFields> }> {
  const result = new Map<string, { type: bigint; fields: ReturnType<typeof readFields> }>()
  for (const a of fieldsNumbered(node, 5)) {
    const bytes = a.value as Uint8Array
    result.set(text(onlyBytes(bytes, 1)), { type: onlyVarint(bytes, 20), fields: readFields(bytes) })
  }
  return result
}

function smallModel(opset?: number) {
  const b = new OnnxGraphBuilder({ opset, metadata: { labels: 'nature,ai' } })
  const x = b.input('image', 'float32', ['N', 3, 8, 8])
  const w = b.initializer('w', new Float32Array(4 * 3 * 9).fill(0.5), [4, 3, 3, 3])
  const y = b.node('Conv', [x, w], { pads: [1, 1, 1, 1], strides: [1, 1], group: 1 })
  const z = b.node('LeakyRelu', [y], { alpha: 1 })
  b.output(b.reduce('ReduceMean', z, [-1, -2], { keepdims: false }), 'float32', ['N', 4], { as: 'logits' })
  return b.toBytes()
}

describe('OnnxGraphBuilder encoding', () => {
  it('writes IR version, opset, producer and metadata for the chosen opset', () => {
    const model = smallModel()
    expect(onlyVarint(model, 1)).toBe(8n)
    expect(text(onlyBytes(model, 2))).toBe('genimage')
    const opset = onlyBytes(model, 8)
    expect(text(onlyBytes(opset, 1))).toBe('')
    expect(onlyVarint(opset, 2)).toBe(17n)
    const entry = onlyBytes(model, 14)
    expect([text(onlyBytes(entry, 1)), text(onlyBytes(entry, 2))]).toEqual(['labels', 'nature,ai'])
    expect(onlyVarint(smallModel(13), 1)).toBe(7n)
    expect(onlyVarint(smallModel(21), 1)).toBe(10n)
  })

  it('types attributes: ints for pads, float for known float names even when whole, explicit overrides', () => {
    const graph = onlyBytes(smallModel(), 7)
    const [conv, leaky] = fieldsNumbered(graph, 1).map((n) => n.value as Uint8Array)
    const convAttributes = attributesOf(conv!)
    expect(convAttributes.get('pads')?.type).toBe(7n)
    const packedPads = convAttributes.get('pads')!.fields.find((f) => f.field === 8)
    expect(packedPads?.wire === 2 && unpackVarints(packedPads.value)).toEqual([1n, 1n, 1n, 1n])
    expect(convAttributes.get('group')?.type).toBe(2n)
    expect(attributesOf(leaky!).get('alpha')?.type).toBe(1n)

    const b = new OnnxGraphBuilder()
    const x = b.input('x', 'float32', [2])
    b.output(b.node('Custom', [x], { k: attr.float(2), s: 'nearest', list: ['a', 'b'], f: [0.5, 1], axes: [-1] }), 'float32')
    const node = fieldsNumbered(onlyBytes(b.toBytes(), 7), 1)[0]!.value as Uint8Array
    const types = Object.fromEntries([...attributesOf(node)].map(([name, a]) => [name, a.type]))
    expect(types).toEqual({ k: 1n, s: 3n, list: 8n, f: 6n, axes: 7n })
  })

  it('moves reduction axes to an input from opset 18', () => {
    const nodeInputs = (opset: number) => {
      const graph = onlyBytes(smallModel(opset), 7)
      const nodes = fieldsNumbered(graph, 1).map((n) => n.value as Uint8Array)
      const reduce = nodes.find((n) => text(onlyBytes(n, 4)) === 'ReduceMean')!
      return { inputs: fieldsNumbered(reduce, 1).length, hasAxes: attributesOf(reduce).has('axes') }
    }
    expect(nodeInputs(17)).toEqual({ inputs: 1, hasAxes: true })
    expect(nodeInputs(18)).toEqual({ inputs: 2, hasAxes: false })
  })

  it('writes symbolic dims as dim_param and fixed ones as dim_value', () => {
    const graph = onlyBytes(smallModel(), 7)
    const input = onlyBytes(graph, 11)
    const tensorType = onlyBytes(onlyBytes(input, 2), 1)
    expect(onlyVarint(tensorType, 1)).toBe(1n)
    const dims = fieldsNumbered(onlyBytes(tensorType, 2), 1).map((d) => readFields(d.value as Uint8Array)[0]!)
    expect(dims.map((d) => (d.wire === 0 ? Number(d.value) : text(d.value)))).toEqual(['N', 3, 8, 8])
  })

  it('stores initializers as raw little-endian data with their dims', () => {
    const graph = onlyBytes(smallModel(), 7)
    const tensor = onlyBytes(graph, 5)
    expect(unpackVarints(onlyBytes(tensor, 1))).toEqual([4n, 3n, 3n, 3n])
    expect(onlyVarint(tensor, 2)).toBe(1n)
    const raw = onlyBytes(tensor, 9)
    expect(raw.byteLength).toBe(4 * 3 * 9 * 4)
    expect(new DataView(raw.buffer, raw.byteOffset).getFloat32(8, true)).toBe(0.5)
  })
})

describe('OnnxGraphBuilder errors', () => {
  it('fails at the faulty call with a stable code', () => {
    const b = new OnnxGraphBuilder()
    const x = b.input('x', 'float32', ['N', 4])
    expect(codeOf(() => b.input('x', 'float32', [1]))).toBe('duplicate_name')
    expect(codeOf(() => b.node('Relu', ['nope']))).toBe('unknown_value')
    expect(codeOf(() => b.initializer('w', new Float32Array(5), [2, 2]))).toBe('data_size_mismatch')
    expect(codeOf(() => b.input('y', 'float32', [-1]))).toBe('invalid_dims')
    expect(codeOf(() => b.input('z', 'float32', ['bad dim']))).toBe('invalid_dims')
    expect(codeOf(() => b.node('Custom', [x], { bad: { nested: true } as never }))).toBe('invalid_attribute')
    expect(codeOf(() => b.node('LeakyRelu', [x], { alpha: Number.NaN }))).toBe('invalid_attribute')
    expect(codeOf(() => b.toBytes())).toBe('missing_output')
    expect(codeOf(() => new OnnxGraphBuilder({ opset: 3 }))).toBe('invalid_opset')
    expect(codeOf(() => b.output('ghost', 'float32'))).toBe('unknown_value')
  })

  it('generates unique output names and accepts chosen ones, including several outputs', () => {
    const b = new OnnxGraphBuilder()
    const x = b.input('x', 'float32', [4])
    const a = b.node('Relu', [x])
    const c = b.node('Relu', [x])
    expect(a).not.toBe(c)
    const named = b.node('Relu', [a], {}, { output: 'relu_5' })
    expect(named).toBe('relu_5')
    expect(b.multiNode('Split', [x], 2, { axis: 0 })).toHaveLength(2)
    expect(b.multiNode('TopK', [x, b.constInt64([2])], ['values', 'indices'])).toEqual(['values', 'indices'])
    expect(codeOf(() => b.node('Relu', [x], {}, { output: 'values' }))).toBe('duplicate_name')
    expect(codeOf(() => b.multiNode('TopK', [x, b.constInt64([1])], ['v2', 'v2']))).toBe('duplicate_name')
    expect(b.has('v2')).toBe(false)
    expect(b.node('Resize', [x, '', b.constFloat([2])], { mode: 'nearest' })).toMatch(/^resize_/)
  })
})
