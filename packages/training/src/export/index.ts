export { exportDetectorToOnnx, EXPORT_OPSET } from './onnx-export.ts'
export { cardName, writeModelFolder, type WriteModelFolderOptions } from './model-folder.ts'
export { importOnnxDetector, type ImportOnnxOptions } from './import.ts'
export {
  buildHandmadeOnnx,
  HANDMADE_AFFINE,
  HANDMADE_LABELS,
  handmadeInputConfig,
  writeHandmadeModel,
  type HandmadeModel,
  type HandmadeModelOptions,
} from './handmade.ts'
