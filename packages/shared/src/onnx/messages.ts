import { ProtoWriter } from './protobuf.ts'

/** Element types the writer supports, with their `TensorProto.DataType` numbers from onnx.proto. */
export const ONNX_DATA_TYPE = { float32: 1, int32: 6, int64: 7 } as const
export type OnnxDataType = keyof typeof ONNX_DATA_TYPE

/** Raw element storage for each supported element type. */
export type TensorData = Float32Array | Int32Array | BigInt64Array

/** A dimension: a fixed size, or a symbolic name (e.g. `'N'`) that the runtime binds per call. */
export type Dim = number | string

/** `AttributeProto.AttributeType` numbers from onnx.proto. */
export const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const

export interface TensorMessage {
  name: string
  dataType: OnnxDataType
  dims: readonly number[]
  data: TensorData
}

/** One attribute value with its ONNX type made explicit. */
export type AttributeValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number | bigint }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: TensorMessage }
  | { type: 'floats'; value: ArrayLike<number> }
  | { type: 'ints'; value: ArrayLike<number | bigint> }
  | { type: 'strings'; value: readonly string[] }

export type AttributeMessage = AttributeValue & { name: string }

export interface NodeMessage {
  opType: string
  inputs: readonly string[]
  outputs: readonly string[]
  name?: string
  domain?: string
  attributes: readonly AttributeMessage[]
}

export interface ValueInfoMessage {
  name: string
  dataType: OnnxDataType
  /** Omitted: unknown rank. Empty: a scalar. */
  dims?: readonly Dim[]
}

export interface GraphMessage {
  name: string
  nodes: readonly NodeMessage[]
  initializers: readonly TensorMessage[]
  inputs: readonly ValueInfoMessage[]
  outputs: readonly ValueInfoMessage[]
  docString?: string
}

export interface OpsetImport {
  /** '' is the default ONNX domain (`ai.onnx`). */
  domain: string
  version: number
}

export interface ModelMessage {
  irVersion: number
  opsetImports: readonly OpsetImport[]
  producerName: string
  producerVersion: string
  docString?: string
  graph: GraphMessage
  metadata?: Readonly<Record<string, string>>
}

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Little-endian bytes of a typed array, as `TensorProto.raw_data` requires. */
export function littleEndianBytes(data: TensorData): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  if (hostIsLittleEndian) return bytes
  const swapped = new Uint8Array(bytes.byteLength)
  const width = data.BYTES_PER_ELEMENT
  for (let i = 0; i < bytes.byteLength; i += width) {
    for (let j = 0; j < width; j++) swapped[i + j] = bytes[i + width - 1 - j]!
  }
  return swapped
}

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9. */
export function writeTensor(w: ProtoWriter, tensor: TensorMessage): void {
  w.packedVarints(1, tensor.dims)
  w.int32(2, ONNX_DATA_TYPE[tensor.dataType])
  w.string(8, tensor.name)
  w.bytes(9, littleEndianBytes(tensor.data))
}

/** AttributeProto: name = 1, f = 2, i = 3, s = 4, t = 5, floats = 7, ints = 8, strings = 9, type = 20. */
export function writeAttribute(w: ProtoWriter, attribute: AttributeMessage): void {
  w.string(1, attribute.name)
  switch (attribute.type) {
    case 'float':
      w.float(2, attribute.value)
      break
    case 'int':
      w.int64(3, attribute.value)
      break
    case 'string':
      w.string(4, attribute.value)
      break
    case 'tensor': {
      const tensor = attribute.value
      w.message(5, (t) => writeTensor(t, tensor))
      break
    }
    case 'floats':
      w.packedFloats(7, attribute.value)
      break
    case 'ints':
      w.packedVarints(8, attribute.value)
      break
    case 'strings':
      for (const s of attribute.value) w.string(9, s)
      break
  }
  w.int32(20, ATTRIBUTE_TYPE[attribute.type])
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7. */
export function writeNode(w: ProtoWriter, node: NodeMessage): void {
  for (const input of node.inputs) w.string(1, input)
  for (const output of node.outputs) w.string(2, output)
  if (node.name) w.string(3, node.name)
  w.string(4, node.opType)
  for (const attribute of node.attributes) w.message(5, (a) => writeAttribute(a, attribute))
  if (node.domain) w.string(7, node.domain)
}

/**
 * ValueInfoProto: name = 1, type = 2. TypeProto.tensor_type = 1; TypeProto.Tensor: elem_type = 1, shape = 2;
 * TensorShapeProto.dim = 1; Dimension: dim_value = 1, dim_param = 2.
 */
export function writeValueInfo(w: ProtoWriter, info: ValueInfoMessage): void {
  w.string(1, info.name)
  w.message(2, (type) =>
    type.message(1, (tensorType) => {
      tensorType.int32(1, ONNX_DATA_TYPE[info.dataType])
      if (info.dims === undefined) return
      const dims = info.dims
      tensorType.message(2, (shape) => {
        for (const dim of dims) {
          shape.message(1, (d) => (typeof dim === 'number' ? d.int64(1, dim) : d.string(2, dim)))
        }
      })
    }),
  )
}

/** GraphProto: node = 1, name = 2, initializer = 5, doc_string = 10, input = 11, output = 12. */
export function writeGraph(w: ProtoWriter, graph: GraphMessage): void {
  for (const node of graph.nodes) w.message(1, (n) => writeNode(n, node))
  w.string(2, graph.name)
  for (const tensor of graph.initializers) w.message(5, (t) => writeTensor(t, tensor))
  if (graph.docString) w.string(10, graph.docString)
  for (const input of graph.inputs) w.message(11, (v) => writeValueInfo(v, input))
  for (const output of graph.outputs) w.message(12, (v) => writeValueInfo(v, output))
}

/**
 * ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, doc_string = 6, graph = 7,
 * opset_import = 8 (OperatorSetIdProto: domain = 1, version = 2), metadata_props = 14 (key = 1, value = 2).
 */
export function encodeModel(model: ModelMessage): Uint8Array {
  const w = new ProtoWriter()
  w.int64(1, model.irVersion)
  w.string(2, model.producerName)
  w.string(3, model.producerVersion)
  if (model.docString) w.string(6, model.docString)
  w.message(7, (g) => writeGraph(g, model.graph))
  for (const opset of model.opsetImports) {
    w.message(8, (o) => o.string(1, opset.domain).int64(2, opset.version))
  }
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    w.message(14, (entry) => entry.string(1, key).string(2, value))
  }
  return w.finish()
}
