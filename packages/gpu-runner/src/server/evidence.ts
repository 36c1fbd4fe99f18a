import type { TileTransform } from '@genimage/imaging'
import { channelStatistics, type EvidenceAggregate, type InputConfig } from '@genimage/shared'
import { ImagePreprocessError, type ModelScheduler, type ScoreRequest } from '../inference/model-scheduler.ts'

/**
 * One image's answer from its tiles' probability rows under the card's rule: tiles are ranked by ai probability
 * (1 − P(nature), ties to the earlier tile); `max` gives the top tile's row, `mean-top-k` the mean row of the top k.
 * The result is a probability row like a single tensor's, so attribution heads keep their generator ranking.
 */
export function aggregateTileRows(rows: readonly Float32Array[], aggregate: EvidenceAggregate, natureIndex: number): Float32Array {
  const first = rows[0]
  if (!first) throw new RangeError('an image has no tiles')
  if (natureIndex < 0 || natureIndex >= first.length) throw new RangeError(`no "nature" label at index ${natureIndex}`)
  const ranked = rows.map((row, index) => ({ row, index, ai: 1 - (row[natureIndex] as number) })).sort((a, b) => b.ai - a.ai || a.index - b.index)
  const k = aggregate.rule === 'max' ? 1 : Math.min(aggregate.k, rows.length)
  const out = new Float32Array(first.length)
  for (const { row } of ranked.slice(0, k)) for (let j = 0; j < out.length; j++) out[j] = (out[j] as number) + (row[j] as number) / k
  return out
}

const statisticsByImage = new WeakMap<Uint8Array, number[]>()

/**
 * R, G, B means then stds of every pixel the model saw for this encoded image over all its tiles (the space of
 * `channelStatistics`), once {@link scoreImagesByTiles} scored it.
 */
export function tileStatisticsOf(encoded: Uint8Array): number[] | undefined {
  return statisticsByImage.get(encoded)
}

/** Pools per-tile [means, stds] (tiles of equal size) into the statistics of all their pixels together. */
function pooledStatistics(tiles: readonly Float32Array[], input: InputConfig): number[] {
  const perTile = tiles.map((tile) => channelStatistics(tile, input))
  const means = [0, 1, 2].map((c) => perTile.reduce((sum, s) => sum + (s[c] as number), 0) / perTile.length)
  const stds = [0, 1, 2].map((c) => {
    const meanSquare = perTile.reduce((sum, s) => sum + (s[c + 3] as number) ** 2 + (s[c] as number) ** 2, 0) / perTile.length
    return Math.sqrt(Math.max(0, meanSquare - (means[c] as number) ** 2))
  })
  return [...means, ...stds]
}

/**
 * Scores encoded images of a model whose card reads evidence tiles: each image is decoded once at full size under
 * the runner-wide decode limiter and cut into its tiles, every tile of the request goes through the model's dynamic
 * batcher (in chunks no larger than its queue), and each image gets one probability row, aggregated by the card's
 * rule. Throws `ImagePreprocessError` (with the image's index) for an image that cannot be decoded,
 * `QueueFullError` when the batcher has no room, and the signal's reason once `request.signal` aborts.
 */
export async function scoreImagesByTiles(
  scheduler: ModelScheduler,
  tiles: TileTransform,
  images: readonly Uint8Array[],
  request: ScoreRequest = {},
): Promise<Float32Array[]> {
  const { card } = scheduler.model
  const decoded = await Promise.allSettled(images.map((image) => scheduler.decode(image, () => tiles(image), request)))
  const perImage = decoded.map((d) => (d.status === 'fulfilled' ? d.value : []))
  const flat = perImage.flat()
  try {
    request.signal?.throwIfAborted()
    const failed = decoded.findIndex((d) => d.status === 'rejected')
    if (failed >= 0) throw new ImagePreprocessError(failed, (decoded[failed] as PromiseRejectedResult).reason)
    const capacity = scheduler.batcher.options.maxQueueSize
    const rows: Float32Array[] = []
    for (let start = 0; start < flat.length; start += capacity) rows.push(...(await scheduler.scoreTensors(flat.slice(start, start + capacity))))
    const natureIndex = card.labels.indexOf('nature')
    let offset = 0
    return perImage.map((imageTiles, i) => {
      statisticsByImage.set(images[i] as Uint8Array, pooledStatistics(imageTiles, card.input))
      const answer = aggregateTileRows(rows.slice(offset, offset + imageTiles.length), tiles.evidence.aggregate, natureIndex)
      offset += imageTiles.length
      return answer
    })
  } finally {
    // Every batch that held these tensors has finished (scoreTensors settled or never ran): they can be reused.
    for (const tensor of flat) tiles.recycle(tensor)
  }
}
