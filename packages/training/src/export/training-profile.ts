import { readFile } from 'node:fs/promises'
import { createTransform } from '@genimage/imaging'
import { channelStatistics, type InputConfig, type TrainingProfile, type ValueRange } from '@genimage/shared'
import * as ort from 'onnxruntime-node'
import sharp from 'sharp'

export interface MeasureProfileOptions {
  input: InputConfig
  labels: readonly string[]
  /** The exported model, scored on the images for the score range. */
  onnx: Uint8Array
  outputName: string
  /** Says where the images come from, e.g. "GenImage-mini train split of RDN-slim, Bicubic (nature and ai)". */
  source: string
  /** Measure at most this many images, spread evenly over the list (default 2000). */
  limit?: number
}

const BATCH = 32

/**
 * Measures what a model saw in training ({@link TrainingProfile}): the stored size range, the per-channel colour
 * mean and std ranges of the pixels its input transform produces, and the range of its uncalibrated ai probability,
 * over the training images (or an even sample of them).
 */
export async function measureTrainingProfile(paths: readonly string[], options: MeasureProfileOptions): Promise<TrainingProfile> {
  if (paths.length === 0) throw new Error('no training images to measure')
  const limit = options.limit ?? 2000
  const step = Math.max(1, paths.length / limit)
  const sample = Array.from({ length: Math.min(limit, paths.length) }, (_, i) => paths[Math.floor(i * step)] as string)
  const transform = createTransform(options.input, { maxPixels: 100_000_000 })
  const session = await ort.InferenceSession.create(options.onnx)
  const natureIndex = options.labels.indexOf('nature')
  const ranges = { width: span(), height: span(), mean: [span(), span(), span()], std: [span(), span(), span()], score: span() }
  const { height, width, layout } = options.input
  const shape = layout === 'NCHW' ? [3, height, width] : [height, width, 3]
  try {
    for (let start = 0; start < sample.length; start += BATCH) {
      const batch = sample.slice(start, start + BATCH)
      const tensors: Float32Array[] = []
      for (const path of batch) {
        const bytes = new Uint8Array(await readFile(path))
        const meta = await sharp(bytes).metadata()
        ranges.width.add(meta.width ?? 0)
        ranges.height.add(meta.height ?? 0)
        const tensor = await transform(bytes)
        const stats = channelStatistics(tensor, options.input)
        for (let c = 0; c < 3; c++) {
          ranges.mean[c]?.add(stats[c] as number)
          ranges.std[c]?.add(stats[c + 3] as number)
        }
        tensors.push(tensor)
      }
      const flat = new Float32Array(tensors.length * tensors[0]!.length)
      for (const [i, t] of tensors.entries()) flat.set(t, i * t.length)
      const feeds = { [options.input.name]: new ort.Tensor('float32', flat, [tensors.length, ...shape]) }
      const logits = (await session.run(feeds))[options.outputName]?.data as Float32Array
      const labelCount = options.labels.length
      for (let i = 0; i < tensors.length; i++) {
        const row = Array.from(logits.subarray(i * labelCount, (i + 1) * labelCount))
        const top = Math.max(...row)
        const exp = row.map((l) => Math.exp(l - top))
        const total = exp.reduce((s, e) => s + e, 0)
        ranges.score.add(natureIndex < 0 ? 1 : 1 - (exp[natureIndex] as number) / total)
      }
    }
  } finally {
    await session.release()
  }
  const sampled = sample.length < paths.length ? `an even sample of ${sample.length} of ${paths.length}` : `all ${paths.length}`
  return {
    width: ranges.width.range(),
    height: ranges.height.range(),
    channelMean: [ranges.mean[0]!.range(), ranges.mean[1]!.range(), ranges.mean[2]!.range()],
    channelStd: [ranges.std[0]!.range(), ranges.std[1]!.range(), ranges.std[2]!.range()],
    score: ranges.score.range(),
    count: sample.length,
    method: `measured at export on ${sampled} images of ${options.source} as stored on disk, through the model's input transform and the exported model`,
  }
}

function span() {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  return {
    add(x: number) {
      if (x < min) min = x
      if (x > max) max = x
    },
    range(): ValueRange {
      // Six decimals, rounded outwards so that every measured image stays inside.
      return [Math.floor(min * 1e6) / 1e6, Math.ceil(max * 1e6) / 1e6]
    },
  }
}
