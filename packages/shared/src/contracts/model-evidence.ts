import { z } from 'zod'

/**
 * How the per-tile answers of one image become its single answer. The tiles are ranked by their ai probability
 * (1 − P(nature)); `max` answers with the probability row of the highest-ranked tile, `mean-top-k` with the mean row
 * of the `k` highest-ranked tiles (all of them when the image has fewer). Either way the answer is a probability row
 * over the card's labels, so an attribution model still ranks its generators.
 */
export const EvidenceAggregate = z.discriminatedUnion('rule', [
  z.object({ rule: z.literal('max') }),
  z.object({ rule: z.literal('mean-top-k'), k: z.number().int().min(1).max(256) }),
])
export type EvidenceAggregate = z.infer<typeof EvidenceAggregate>

/**
 * How a model reads an encoded image at native resolution (card `input.evidence`). Absent: the model sees one
 * tensor made as `input.resize` says (the behaviour of cards written before this field existed).
 *
 * `tiles`: the image is decoded at full size (EXIF orientation applied, sRGB) and never resized as a whole; the
 * model scores a centre crop plus a grid of tiles spread evenly over the image, each `crop` × `crop` pixels as the
 * file stores them, in one batch, and the card's `aggregate` rule turns the per-tile answers into one per image.
 * The grid is deterministic (same image, same tiles): as many columns and rows as cover the image, reduced while
 * centre + grid exceeds the tile limit, min(`maxTiles`, ⌊`pixelBudget` / crop²⌋) (at least 1: the centre crop).
 * Images smaller than `crop` repeat their edge pixels. `input.resize` and `cropPct` are then not used for encoded
 * images, and `input.interpolation` only with `downscale: 'tile-to-input'`, the one resampling allowed.
 *
 * @example
 * // NPR-style artifact detector: 64-px tiles at native resolution, mean of the 3 most ai-looking tiles
 * { "mode": "tiles", "crop": 64, "maxTiles": 16, "aggregate": { "rule": "mean-top-k", "k": 3 } }
 * // CLIP-style model: 448-px native regions each resized to the 224-px input
 * { "mode": "tiles", "crop": 448, "maxTiles": 5, "aggregate": { "rule": "max" }, "downscale": "tile-to-input" }
 */
export const ModelEvidence = z.object({
  mode: z.literal('tiles'),
  /** Side of each tile in pixels of the image as stored. With `downscale: 'never'` it must equal input height and width. */
  crop: z.number().int().min(1).max(4096),
  /** Most tiles per image, the centre crop included. */
  maxTiles: z.number().int().min(1).max(256).default(16),
  /** Most pixels scored per image, crop² per tile; bounds the tile count further when set. */
  pixelBudget: z.number().int().positive().optional(),
  aggregate: EvidenceAggregate,
  /**
   * `never`: tiles reach the model pixel for pixel (artifact detectors, which read up-sampling traces).
   * `tile-to-input`: each crop × crop tile is resized to the input size with `input.interpolation` (models trained
   * on resized images, e.g. frozen CLIP features); the whole image is still never resized.
   */
  downscale: z.enum(['never', 'tile-to-input']).default('never'),
})
export type ModelEvidence = z.infer<typeof ModelEvidence>

/** Tiles per image a card's evidence allows: min(maxTiles, ⌊pixelBudget / crop²⌋), at least 1. */
export function evidenceTileLimit(evidence: ModelEvidence): number {
  const budget = evidence.pixelBudget === undefined ? Number.POSITIVE_INFINITY : Math.floor(evidence.pixelBudget / evidence.crop ** 2)
  return Math.max(1, Math.min(evidence.maxTiles, budget))
}

/**
 * Why `evidence` cannot serve an input of `height` × `width`, or undefined when it can: without downscaling a tile
 * is the tensor, so its side must be the input's (square) size; with it, the tile must not be smaller than the input.
 */
export function evidenceProblem(evidence: ModelEvidence, input: { height: number; width: number }): string | undefined {
  if (evidence.downscale === 'never' && (evidence.crop !== input.height || evidence.crop !== input.width)) {
    return `evidence.crop ${evidence.crop} must equal the input size ${input.height}×${input.width} when evidence.downscale is "never"`
  }
  if (evidence.downscale === 'tile-to-input' && (evidence.crop < input.height || evidence.crop < input.width)) {
    return `evidence.crop ${evidence.crop} is smaller than the input size ${input.height}×${input.width}: tiles would be enlarged`
  }
  return undefined
}
