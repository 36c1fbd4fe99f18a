/**
 * The model every GPU-check section measures: the zoo's ResNet-50 (224×224, two classes) with random initial
 * weights, exported to ONNX by the project's exporter, written as a model folder the runner serves.
 */
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { writeRandomDetectorFolder } from '../lib-random-detector.ts'

/** Model name the runner serves the check's ResNet-50 under. */
export const CHECK_MODEL_NAME = 'gpu-check-resnet50'

/** What `writeResnet50Folder` wrote. */
export interface ResNet50Folder {
  folder: string
  onnxPath: string
  inputName: string
  size: number
  bytes: number
}

/**
 * Builds the zoo's `resnet50` (seed 1) on tfjs's pure `cpu` backend (export reads weights synchronously) and writes
 * `model.onnx` + `card.json` into `<dir>/gpu-check-resnet50`.
 */
export async function writeResnet50Folder(dir: string): Promise<ResNet50Folder> {
  await tf.setBackend('cpu')
  const folder = join(dir, CHECK_MODEL_NAME)
  const { card, bytes } = await writeRandomDetectorFolder('resnet50', folder, { name: CHECK_MODEL_NAME, command: 'bash bench/gpu-check.sh' })
  return { folder, onnxPath: join(folder, card.file), inputName: card.input.name, size: card.input.height, bytes }
}
