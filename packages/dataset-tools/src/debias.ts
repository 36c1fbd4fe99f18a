import sharp from 'sharp'
import { DatasetError } from './errors.ts'
import { MAX_DECODE_PIXELS } from '@genimage/imaging'
import { type Interpolation, SHARP_KERNELS } from '@genimage/shared/genimage'
import type { Progress } from './progress.ts'
import { SkipImage, transformTree, withExtension, type TransformTreeReport } from './transform-tree.ts'
import type { WalkOptions } from './walk.ts'

export interface DebiasOptions extends WalkOptions {
  /** JPEG quality for both classes (default 96, ImageNet's usual quality). */
  quality?: number
  /** Output side: the shorter side is resized down to this (never up), then centre-cropped square (default 256). */
  size?: number
  /** Leave out (and list) images whose shorter side is below this (default 0: keep all). */
  minSide?: number
  /** Resampling of the resize (default bicubic). */
  interpolation?: Interpolation
  concurrency?: number
  progress?: Progress
  signal?: AbortSignal
}

/** JPEG-aligns one image: shorter side down to `size`, centre square crop, JPEG at `quality` with 4:2:0 chroma. */
export async function debiasImage(bytes: Buffer, size: number, quality: number, interpolation: Interpolation, minSide = 0): Promise<Buffer> {
  const image = sharp(bytes, { limitInputPixels: MAX_DECODE_PIXELS, failOn: 'truncated' })
  const { width = 0, height = 0 } = await image.metadata()
  const shorter = Math.min(width, height)
  if (shorter < minSide) throw new SkipImage(`shorter side ${shorter} px is below --min-side ${minSide}`)
  const side = Math.min(size, shorter)
  return image
    .flatten({ background: '#ffffff' })
    .resize(side, side, { fit: 'cover', position: 'centre', kernel: SHARP_KERNELS[interpolation] })
    .jpeg({ quality, chromaSubsampling: '4:2:0', optimiseCoding: false })
    .toBuffer()
}

/**
 * Removes the format and size shortcuts of GenImage (Grommelt et al. 2024, "Fake or JPEG?"): both classes are
 * JPEG-compressed at the same quality and brought to the same size bounds. Same layout out, parameters in `debias.json`.
 */
export async function debias(root: string, out: string, options: DebiasOptions = {}): Promise<TransformTreeReport> {
  const quality = options.quality ?? 96
  const size = options.size ?? 256
  const minSide = options.minSide ?? 0
  const interpolation = options.interpolation ?? 'bicubic'
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) throw new DatasetError('bad_option', `--quality must be an integer 1–100, got ${quality}`)
  if (!(Number.isInteger(size) && size >= 8)) throw new DatasetError('bad_option', `--size must be an integer ≥ 8, got ${size}`)
  const report = await transformTree(root, out, {
    ...options,
    sidecarName: 'debias.json',
    parameters: {
      jpegQuality: quality,
      chromaSubsampling: '4:2:0',
      huffmanTables: 'standard (not optimised)',
      size,
      sizeMeans: 'shorter side resized down to size (never enlarged), then centre-cropped to a square',
      minSide,
      interpolation,
      classes: 'both ai and nature re-encoded',
      alpha: 'flattened on white',
      generators: options.generators ?? 'all',
      encoder: `sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`,
    },
    progressLabel: 'debias',
    plan: (image) => ({ outName: withExtension(image.name, '.jpg'), transform: (bytes) => debiasImage(bytes, size, quality, interpolation, minSide) }),
  })
  return report
}
