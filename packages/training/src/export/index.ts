export { exportDetectorToOnnx, EXPORT_OPSET } from './onnx-export.ts'
export {
  cardName,
  contentVersion,
  modelFolderPath,
  trainedOnLine,
  VERSION_PLACEHOLDER,
  writeModelFolder,
  type WriteModelFolderOptions,
} from './model-folder.ts'
export { measureTrainingProfile, type MeasureProfileOptions } from './training-profile.ts'
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
