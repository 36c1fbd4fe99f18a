export { OnnxGraphBuilder, irVersionForOpset, type NodeOptions, type OnnxGraphBuilderOptions } from './builder.ts'
export { attr, inferAttribute, FLOAT_ATTRIBUTE_NAMES, type AttributeInput, type Attributes } from './attributes.ts'
export { OnnxBuildError, type OnnxBuildErrorCode } from './errors.ts'
export {
  ONNX_DATA_TYPE,
  encodeModel,
  type AttributeValue,
  type Dim,
  type ModelMessage,
  type OnnxDataType,
  type TensorData,
  type TensorMessage,
} from './messages.ts'
export { ProtoWriter, WireType } from './protobuf.ts'
export { toInt64Array } from './tensors.ts'
