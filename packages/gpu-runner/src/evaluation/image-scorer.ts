import { Limiter } from '../inference/limiter.ts'
import { ModelScheduler } from '../inference/model-scheduler.ts'
import { type LoadedModel, loadModel } from '../repository/model-repository.ts'
import { scoreImagesByTiles } from '../server/evidence.ts'

/** Scores encoded images exactly as the runner serves a model folder. */
export interface ImageScorer {
  model: LoadedModel
  /** Index of the `nature` label in the card's labels. */
  natureIndex: number
  /** One probability row (the card's labels) per encoded image. */
  score(images: readonly Uint8Array[]): Promise<Float32Array[]>
  close(): Promise<void>
}

export interface ImageScorerOptions {
  /** onnxruntime execution providers in order of preference (default cpu). */
  providers?: readonly string[]
  /** Largest decoded image in pixels (default 64 megapixels, full-size photographs). */
  maxPixels?: number
  /** Images per onnxruntime call (default 32). */
  batchSize?: number
}

/** Raised when a folder holds no model card. */
export class NoModelFolderError extends Error {
  override name = 'NoModelFolderError'
}

/**
 * Opens a model folder and scores encoded images through the runner's own path: tiles at native resolution
 * aggregated by the card's rule (`scoreImagesByTiles`) when the card's input has `evidence`, else the single tensor
 * of the card's transform, both through a `ModelScheduler` on this thread. Evaluation and calibration use this, so
 * the numbers they record are about the answers the runner gives.
 */
export async function openImageScorer(modelDir: string, options: ImageScorerOptions = {}): Promise<ImageScorer> {
  const model = await loadModel(modelDir, { providers: options.providers ?? ['cpu'], maxPixels: options.maxPixels ?? 64_000_000 })
  if (!model) throw new NoModelFolderError(`no model folder (card.json) in ${modelDir}`)
  const natureIndex = model.card.labels.indexOf('nature')
  if (natureIndex < 0) {
    await model.session.release()
    throw new Error(`model ${model.card.name} has no "nature" label`)
  }
  const batchSize = options.batchSize ?? 32
  const decodes = new Limiter(4)
  const scheduler = new ModelScheduler(
    model,
    { maxBatchSize: batchSize, maxQueueDelayMs: 0, maxQueueSize: Math.max(batchSize, 256) },
    decodes,
    {},
    { worker: false },
  )
  return {
    model,
    natureIndex,
    async score(images) {
      const rows: Float32Array[] = []
      // Chunks of batchSize images keep full-size decodes bounded in memory and inside the scheduler's queue.
      for (let start = 0; start < images.length; start += batchSize) {
        const chunk = images.slice(start, start + batchSize)
        rows.push(...(model.tiles ? await scoreImagesByTiles(scheduler, model.tiles, chunk) : await scheduler.scoreImages(chunk)))
      }
      return rows
    },
    async close() {
      await scheduler.close()
      await model.session.release()
    },
  }
}

/** The uncalibrated ai probability of a probability row: 1 − P(nature), which also covers attribution heads. */
export function aiProbabilityOf(row: ArrayLike<number>, natureIndex: number): number {
  return 1 - (row[natureIndex] as number)
}
