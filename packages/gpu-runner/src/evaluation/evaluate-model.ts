import { readFile } from 'node:fs/promises'
import type { RunMetric } from '@genimage/shared'
import type { DegradationParameters } from '@genimage/shared/genimage'
import { loadSplit, type LabelledImage } from '@genimage/training/train'
import { testImageDegrader } from './degrade.ts'
import { aiProbabilityOf, type ImageScorer, openImageScorer } from './image-scorer.ts'
import { detectionMetrics, type ScoredImage } from './metrics.ts'

export interface EvaluateOptions extends DegradationParameters {
  dataRoot: string
  testOn: readonly string[]
  degradations: readonly string[]
  /** At most this many val images per generator and class. */
  limitPerClass?: number
  /** Images per onnxruntime call (default 32). */
  batchSize?: number
  /** onnxruntime execution providers in order of preference (default cpu). */
  providers?: readonly string[]
  signal?: AbortSignal
  /** Called after each finished cell (test set × degradation). */
  onCell?: (done: number, total: number, metric: RunMetric) => void
}

const finite = (x: number) => (Number.isFinite(x) ? x : null)

/** P(ai) of each image (1 − P(nature)), scored as the runner scores it for this card (tiles or one tensor). */
async function scoreImages(
  scorer: ImageScorer,
  images: readonly LabelledImage[],
  prepare: (bytes: Uint8Array) => Promise<Uint8Array>,
  batchSize: number,
  signal?: AbortSignal,
): Promise<ScoredImage[]> {
  const scored: ScoredImage[] = []
  for (let start = 0; start < images.length; start += batchSize) {
    signal?.throwIfAborted()
    const chunk = images.slice(start, start + batchSize)
    const rows = await scorer.score(await Promise.all(chunk.map(async (image) => prepare(await readFile(image.path)))))
    for (const [i, image] of chunk.entries()) scored.push({ score: aiProbabilityOf(rows[i] as Float32Array, scorer.natureIndex), fake: image.kind === 'ai' })
  }
  return scored
}

/**
 * Scores a model folder (the exported ONNX model, as the runner serves it: evidence tiles when the card has them,
 * see `openImageScorer`) on the val split of each test generator under each degradation; one metric per cell.
 */
export async function evaluateModelFolder(modelDir: string, options: EvaluateOptions): Promise<RunMetric[]> {
  const batchSize = options.batchSize ?? 32
  const scorer = await openImageScorer(modelDir, { providers: options.providers, batchSize })
  try {
    const total = options.testOn.length * options.degradations.length
    const results: RunMetric[] = []
    for (const testSet of options.testOn) {
      const images = await loadSplit({
        root: options.dataRoot,
        split: 'val',
        generators: [testSet],
        task: 'binary',
        headGenerators: [],
        limitPerClass: options.limitPerClass,
      })
      for (const id of options.degradations) {
        const scored: ScoredImage[] = []
        const fakes = images.filter((i) => i.kind === 'ai')
        const reals = images.filter((i) => i.kind === 'nature')
        const degrade = testImageDegrader(id, options)
        scored.push(...(await scoreImages(scorer, fakes, (bytes) => degrade(bytes, 'ai'), batchSize, options.signal)))
        scored.push(...(await scoreImages(scorer, reals, (bytes) => degrade(bytes, 'nature'), batchSize, options.signal)))
        const m = detectionMetrics(scored)
        const metric: RunMetric = {
          testSet,
          degradation: id,
          accuracy: m.accuracy,
          realAccuracy: finite(m.realAccuracy),
          fakeAccuracy: finite(m.fakeAccuracy),
          averagePrecision: finite(m.averagePrecision),
          rocAuc: finite(m.rocAuc),
          count: m.count,
          realCount: m.realCount,
          fakeCount: m.fakeCount,
          accuracyCi: Number.isFinite(m.accuracyCi[0]) ? m.accuracyCi : null,
        }
        results.push(metric)
        options.onCell?.(results.length, total, metric)
      }
    }
    return results
  } finally {
    await scorer.close()
  }
}
