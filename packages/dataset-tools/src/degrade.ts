import sharp from 'sharp'
import { DatasetError } from './errors.ts'
import { estimateJpegQuality } from './jpeg-quality.ts'
import { MAX_DECODE_PIXELS } from './image-info.ts'
import type { Progress } from './progress.ts'
import { seededFraction, transformTree, withExtension, type TransformTreeReport } from './transform-tree.ts'
import type { WalkOptions } from './walk.ts'

/** Resampling kernels sharp offers; the GenImage paper does not name one, so it is always recorded. */
export const INTERPOLATIONS = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'] as const
export type Interpolation = (typeof INTERPOLATIONS)[number]

/** The Table 5 degradations of the GenImage paper, as options. */
export const TABLE5_VARIANTS: Record<string, DegradeSettings> = {
  'downscale-112': { downscale: 112 },
  'downscale-64': { downscale: 64 },
  'jpeg-65': { jpeg: 65 },
  'jpeg-30': { jpeg: 30 },
  'blur-3': { blur: 3 },
  'blur-5': { blur: 5 },
}

/** Which degradations to apply; any combination, applied in the order downscale → blur → JPEG. */
export interface DegradeSettings {
  /** Resize so the shorter side is this many pixels (never enlarges). */
  downscale?: number
  /** Gaussian blur sigma. */
  blur?: number
  /** Re-encode as JPEG at this quality (output `.jpg`). */
  jpeg?: number
}

export interface DegradeOptions extends DegradeSettings, WalkOptions {
  interpolation?: Interpolation
  /** Degrade `nature` images too (default true); false copies them unchanged. */
  degradeReal?: boolean
  /** Seed for sampling; with `sample` below 1 it decides which images are kept. */
  seed?: number
  /** Fraction of images to write (default 1: all). */
  sample?: number
  concurrency?: number
  progress?: Progress
  signal?: AbortSignal
}

function validate(options: DegradeOptions): void {
  const bad = (message: string) => new DatasetError('bad_option', message)
  if (options.downscale === undefined && options.blur === undefined && options.jpeg === undefined) throw bad('nothing to do: give at least one of --downscale, --blur, --jpeg')
  if (options.downscale !== undefined && !(Number.isInteger(options.downscale) && options.downscale >= 8)) throw bad(`--downscale must be an integer ≥ 8, got ${options.downscale}`)
  if (options.blur !== undefined && !(options.blur >= 0.3 && options.blur <= 1000)) throw bad(`--blur sigma must be between 0.3 and 1000, got ${options.blur}`)
  if (options.jpeg !== undefined && !(Number.isInteger(options.jpeg) && options.jpeg >= 1 && options.jpeg <= 100)) throw bad(`--jpeg quality must be an integer 1–100, got ${options.jpeg}`)
  if (options.sample !== undefined && !(options.sample > 0 && options.sample <= 1)) throw bad(`--sample must be in (0, 1], got ${options.sample}`)
  if (options.interpolation && !INTERPOLATIONS.includes(options.interpolation)) throw bad(`--interpolation must be one of ${INTERPOLATIONS.join(', ')}`)
}

/** Applies the settings to one encoded image; JPEG sources without `jpeg` are re-encoded at their own estimated quality. */
export async function degradeImage(bytes: Buffer, settings: DegradeSettings, interpolation: Interpolation = 'cubic'): Promise<Buffer> {
  let pipeline = sharp(bytes, { limitInputPixels: MAX_DECODE_PIXELS, failOn: 'truncated' })
  if (settings.downscale !== undefined) {
    const { width = 0, height = 0 } = await pipeline.metadata()
    const shorter = Math.min(width, height)
    if (shorter > settings.downscale) {
      const scale = settings.downscale / shorter
      pipeline = pipeline.resize(Math.round(width * scale), Math.round(height * scale), { kernel: interpolation, fit: 'fill' })
    }
  }
  if (settings.blur !== undefined) pipeline = pipeline.blur(settings.blur)
  if (settings.jpeg !== undefined) return pipeline.jpeg({ quality: settings.jpeg, chromaSubsampling: '4:2:0', optimiseCoding: false }).toBuffer()
  const sourceQuality = estimateJpegQuality(bytes)?.quality
  return sourceQuality ? pipeline.jpeg({ quality: sourceQuality, chromaSubsampling: '4:2:0', optimiseCoding: false }).toBuffer() : pipeline.png().toBuffer()
}

/** The parameters recorded in `degrade.json`. */
export function degradeParameters(options: DegradeOptions): Record<string, unknown> {
  return {
    downscale: options.downscale ?? null,
    blur: options.blur ?? null,
    jpeg: options.jpeg ?? null,
    order: ['downscale', 'blur', 'jpeg'],
    downscaleMeans: 'shorter side resized to this many pixels, aspect kept, never enlarged',
    interpolation: options.interpolation ?? 'cubic',
    degradeReal: options.degradeReal ?? true,
    unchangedFormat: 'without --jpeg, PNG stays PNG and JPEG is re-encoded at its own estimated quality',
    chromaSubsampling: '4:2:0',
    huffmanTables: 'standard (not optimised), as libjpeg and Pillow write by default; pixels are the same either way',
    seed: options.seed ?? 0,
    sample: options.sample ?? 1,
    generators: options.generators ?? 'all',
    encoder: `sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`,
  }
}

/**
 * Writes degraded copies of `root` into `out` (same layout) for Table 5 style robustness tests:
 * downscale, Gaussian blur and JPEG, alone or combined. `degrade.json` beside the output records every parameter.
 */
export async function degrade(root: string, out: string, options: DegradeOptions): Promise<TransformTreeReport> {
  validate(options)
  const interpolation = options.interpolation ?? 'cubic'
  const degradeReal = options.degradeReal ?? true
  const seed = options.seed ?? 0
  const sample = options.sample ?? 1
  return transformTree(root, out, {
    ...options,
    sidecarName: 'degrade.json',
    parameters: degradeParameters(options),
    progressLabel: 'degrade',
    plan: (image) => {
      if (sample < 1 && seededFraction(seed, image.relPath) >= sample) return { skip: 'not in the seeded sample' }
      if (image.label === 'nature' && !degradeReal) return { outName: image.name, transform: async (bytes) => bytes }
      const outName = options.jpeg !== undefined ? withExtension(image.name, '.jpg') : image.name
      return { outName, transform: (bytes) => degradeImage(bytes, options, interpolation) }
    },
  })
}
