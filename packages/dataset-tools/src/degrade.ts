import sharp from 'sharp'
import { DatasetError } from './errors.ts'
import { estimateJpegQuality } from '@genimage/imaging'
import { MAX_DECODE_PIXELS } from '@genimage/imaging'
import { isPng, NATIVE_PNG_SCOPE, nativeFailureCode, nativePngJpeg, type NativePngFailure } from '@genimage/imaging'
import { defaultImageConcurrency } from './pool.ts'
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
  /** Images in flight (default 4; 8 when the native PNG → JPEG path serves the run). */
  concurrency?: number
  progress?: Progress
  signal?: AbortSignal
}

function validate(options: DegradeOptions): void {
  const bad = (message: string) => new DatasetError('bad_option', message)
  if (options.downscale === undefined && options.blur === undefined && options.jpeg === undefined)
    throw bad('nothing to do: give at least one of --downscale, --blur, --jpeg')
  if (options.downscale !== undefined && !(Number.isInteger(options.downscale) && options.downscale >= 8))
    throw bad(`--downscale must be an integer ≥ 8, got ${options.downscale}`)
  if (options.blur !== undefined && !(options.blur >= 0.3 && options.blur <= 1000)) throw bad(`--blur sigma must be between 0.3 and 1000, got ${options.blur}`)
  if (options.jpeg !== undefined && !(Number.isInteger(options.jpeg) && options.jpeg >= 1 && options.jpeg <= 100))
    throw bad(`--jpeg quality must be an integer 1–100, got ${options.jpeg}`)
  if (options.sample !== undefined && !(options.sample > 0 && options.sample <= 1)) throw bad(`--sample must be in (0, 1], got ${options.sample}`)
  if (options.interpolation && !INTERPOLATIONS.includes(options.interpolation)) throw bad(`--interpolation must be one of ${INTERPOLATIONS.join(', ')}`)
}

/** Which encoder wrote an image: the native PNG → JPEG path, or sharp (with the native path's reason when it declined). */
export type EncoderRoute = { encoder: 'native' } | { encoder: 'sharp'; nativeDeclined?: NativePngFailure | 'error' }

/** The JPEG quality when the settings only re-encode (no downscale, no blur): the case the native path serves. */
function jpegOnlyQuality(settings: DegradeSettings): number | undefined {
  return settings.downscale === undefined && settings.blur === undefined ? settings.jpeg : undefined
}

/**
 * Applies the settings to one encoded image; JPEG sources without `jpeg` are re-encoded at their own estimated quality.
 * A PNG that is only re-encoded as JPEG goes through the native libdeflate + libjpeg-turbo path when it is built;
 * whatever that path declines (and every other case) goes through sharp, errors included. `onRoute` hears which.
 */
export async function degradeImage(
  bytes: Buffer,
  settings: DegradeSettings,
  interpolation: Interpolation = 'cubic',
  onRoute?: (route: EncoderRoute) => void,
): Promise<Buffer> {
  const quality = jpegOnlyQuality(settings)
  const native = quality !== undefined && isPng(bytes) ? nativePngJpeg().addon : undefined
  let nativeDeclined: NativePngFailure | 'error' | undefined
  if (native && quality !== undefined) {
    try {
      const output = await native.pngToJpeg(bytes, quality, MAX_DECODE_PIXELS)
      onRoute?.({ encoder: 'native' })
      return output
    } catch (error) {
      nativeDeclined = nativeFailureCode(error) ?? 'error'
    }
  }
  const output = await degradeWithSharp(bytes, settings, interpolation)
  onRoute?.(nativeDeclined ? { encoder: 'sharp', nativeDeclined } : { encoder: 'sharp' })
  return output
}

async function degradeWithSharp(bytes: Buffer, settings: DegradeSettings, interpolation: Interpolation): Promise<Buffer> {
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

/** Images in flight by default: the native path's work is short, so more files in flight keep both cores busy. */
const NATIVE_PATH_CONCURRENCY = 8

/** Describes the encoders a run with these settings uses, for `degrade.json`. */
function encoderDescription(settings: DegradeSettings): string {
  const sharpVersion = `sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`
  const native = jpegOnlyQuality(settings) !== undefined ? nativePngJpeg().addon : undefined
  if (!native) return sharpVersion
  return `PNG → JPEG: ${native.versions.deflate} + ${native.versions.jpeg} (native addon) for ${NATIVE_PNG_SCOPE}; ${sharpVersion} for every other image`
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
    encoder: encoderDescription(options),
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
  const encoders = { native: 0, sharp: 0, nativeDeclined: {} as Record<string, number> }
  const countRoute = (route: EncoderRoute) => {
    encoders[route.encoder] += 1
    if (route.encoder === 'sharp' && route.nativeDeclined)
      encoders.nativeDeclined[route.nativeDeclined] = (encoders.nativeDeclined[route.nativeDeclined] ?? 0) + 1
  }
  const nativeServes = jpegOnlyQuality(options) !== undefined && nativePngJpeg().addon !== undefined
  return transformTree(root, out, {
    ...options,
    concurrency: options.concurrency ?? (nativeServes ? NATIVE_PATH_CONCURRENCY : defaultImageConcurrency()),
    sidecarName: 'degrade.json',
    parameters: degradeParameters(options),
    progressLabel: 'degrade',
    summary: () => ({ encodersThisRun: encoders }),
    plan: (image) => {
      if (sample < 1 && seededFraction(seed, image.relPath) >= sample) return { skip: 'not in the seeded sample' }
      if (image.label === 'nature' && !degradeReal) return { outName: image.name, transform: async (bytes) => bytes }
      const outName = options.jpeg !== undefined ? withExtension(image.name, '.jpg') : image.name
      return { outName, transform: (bytes) => degradeImage(bytes, options, interpolation, countRoute) }
    },
  })
}
