export { exportDetectorToOnnx, EXPORT_OPSET } from './onnx-export.ts'
export { cardName, writeModelFolder, type WriteModelFolderOptions } from './model-folder.ts'
export { importOnnxDetector, type ImportOnnxOptions } from './import.ts'
