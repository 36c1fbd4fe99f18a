export {
  createDetector,
  implementedArchitectures,
  registerArchitecture,
  type BuildContext,
  type CreateDetectorOptions,
  type NetworkBuilder,
} from './registry.ts'
export { Detector, FunctionLayer, type DetectorInfo } from './detector.ts'
export { type ForwardContext, type Layer, Linear, Sequential } from './layers.ts'
export { resnetTrunk } from './resnet.ts'
export type { OnnxEmitter } from './onnx-emitter.ts'
export { ParamStore, SeededRandom, deriveSeed } from './params.ts'
