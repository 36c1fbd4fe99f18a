import { readFile } from 'node:fs/promises'
import * as tf from '@tensorflow/tfjs'
import { createTransform } from '@genimage/imaging'
import type { Detector } from '../zoo/detector.ts'
import type { LabelledImage } from './dataset.ts'

/** Accuracy of a detector on a labelled set, overall and per generator. */
export interface EvaluationResult {
  accuracy: number
  count: number
  perGenerator: Record<string, number>
  /** Images scored per generator. */
  countPerGenerator: Record<string, number>
  /** Per generator: accuracy on its `ai` images and on its `nature` images. */
  perGeneratorByKind: Record<string, { ai: number; nature: number }>
}

const EVAL_MAX_PIXELS = 64_000_000

/**
 * Prepares images once with the serving (eval) transform of the detector's input config, so val accuracy is
 * measured on exactly what the runner will feed the exported model.
 */
export async function prepareEvalTensors(detector: Detector, images: readonly LabelledImage[]): Promise<Float32Array[]> {
  const transform = createTransform({ ...detector.info.input, layout: 'NHWC' }, { maxPixels: EVAL_MAX_PIXELS })
  const out: Float32Array[] = []
  for (const image of images) out.push(await transform(await readFile(image.path)))
  return out
}

/** Runs the detector (inference mode) over prepared NHWC tensors; returns the arg-max label of each. */
export async function predictLabels(detector: Detector, tensors: readonly Float32Array[], batchSize = 32): Promise<number[]> {
  const { height, width } = detector.info.input
  const predictions: number[] = []
  for (let start = 0; start < tensors.length; start += batchSize) {
    const chunk = tensors.slice(start, start + batchSize)
    const batch = new Float32Array(chunk.length * height * width * 3)
    for (const [i, tensor] of chunk.entries()) batch.set(tensor, i * tensor.length)
    const labels = tf.tidy(() => detector.predict(tf.tensor4d(batch, [chunk.length, height, width, 3])).argMax(1))
    predictions.push(...((await labels.data()) as Int32Array))
    labels.dispose()
  }
  return predictions
}

/** Scores predictions against labels, per generator and per class. */
export function scorePredictions(images: readonly LabelledImage[], predictions: readonly number[]): EvaluationResult {
  const tally = new Map<string, { correct: number; total: number; ai: [number, number]; nature: [number, number] }>()
  let correct = 0
  images.forEach((image, i) => {
    const hit = predictions[i] === image.label ? 1 : 0
    correct += hit
    const entry = tally.get(image.generator) ?? { correct: 0, total: 0, ai: [0, 0], nature: [0, 0] }
    entry.correct += hit
    entry.total += 1
    entry[image.kind][0] += hit
    entry[image.kind][1] += 1
    tally.set(image.generator, entry)
  })
  const perGenerator: Record<string, number> = {}
  const perGeneratorByKind: Record<string, { ai: number; nature: number }> = {}
  const countPerGenerator: Record<string, number> = {}
  for (const [generator, entry] of tally) {
    countPerGenerator[generator] = entry.total
    perGenerator[generator] = entry.correct / entry.total
    perGeneratorByKind[generator] = { ai: entry.ai[0] / Math.max(1, entry.ai[1]), nature: entry.nature[0] / Math.max(1, entry.nature[1]) }
  }
  return { accuracy: images.length ? correct / images.length : 0, count: images.length, perGenerator, countPerGenerator, perGeneratorByKind }
}
