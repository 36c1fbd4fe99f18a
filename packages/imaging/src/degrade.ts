import {
  DEFAULT_DEGRADATION_PARAMETERS,
  type Degradation,
  type DegradationSteps,
  degradationSteps,
  type Interpolation,
  isPngSignature,
  SHARP_KERNELS,
} from '@genimage/shared/genimage'
import sharp from 'sharp'
import { MAX_DECODE_PIXELS } from './image-info.ts'
import { type NativeFailure, nativeFailureCode } from './native-addon.ts'
import { NATIVE_PNG_SCOPE, nativePngJpeg } from './native-png-jpeg.ts'

/** Which encoder wrote a degraded image: the native PNG → JPEG path, or sharp (with the native path's reason when it declined). */
export type EncoderRoute = { encoder: 'native' } | { encoder: 'sharp'; nativeDeclined?: NativeFailure | 'error' }

export interface DegradeImageOptions {
  /** Resampling of a downscale (default: `DEFAULT_DEGRADATION_PARAMETERS.interpolation`, bilinear). */
  interpolation?: Interpolation
  /** Largest width × height decoded (default `MAX_DECODE_PIXELS`). */
  maxPixels?: number
  /** Hears which encoder wrote the image. */
  onRoute?: (route: EncoderRoute) => void
}

/** How `degradeImage` carries out its steps, as `degrade.json` and experiment records write it down. */
export const DEGRADATION_METHOD = {
  order: ['downscale', 'blur', 'jpeg'],
  decode: 'EXIF orientation applied, first frame, alpha channel dropped (as the model transform decodes)',
  downscaleMeans: 'shorter side resized to this many pixels, aspect kept, never enlarged',
  blurMeans: 'Gaussian blur, sigma in pixels',
  output: 'JPEG after a jpeg step; otherwise lossless PNG, so the pixels are those of the degradation alone',
  chromaSubsampling: '4:2:0',
  huffmanTables: 'standard (not optimised), as libjpeg and Pillow write by default; pixels are the same either way',
} as const

const toSteps = (degradation: Degradation | DegradationSteps): DegradationSteps => ('kind' in degradation ? degradationSteps(degradation) : degradation)

/** True when the steps change an image at all (`none` and `{}` do not). */
export function changesImage(degradation: Degradation | DegradationSteps): boolean {
  const steps = toSteps(degradation)
  return steps.downscale !== undefined || steps.blur !== undefined || steps.jpeg !== undefined
}

/** The extension a degraded image is written with: `.jpg` after a JPEG step, `.png` otherwise. */
export function degradedExtension(degradation: Degradation | DegradationSteps): '.jpg' | '.png' {
  return toSteps(degradation).jpeg !== undefined ? '.jpg' : '.png'
}

/** The JPEG quality when the steps only encode (no downscale, no blur): the case the native path serves. */
function jpegOnlyQuality(steps: DegradationSteps): number | undefined {
  return steps.downscale === undefined && steps.blur === undefined ? steps.jpeg : undefined
}

/** True when the native PNG → JPEG path is built and serves these steps (for PNG sources). */
export function nativePathServes(degradation: Degradation | DegradationSteps): boolean {
  return jpegOnlyQuality(toSteps(degradation)) !== undefined && nativePngJpeg().addon !== undefined
}

/** The encoders that degrade images with these steps, e.g. for `degrade.json`. */
export function degradeEncoders(degradation: Degradation | DegradationSteps): string {
  const sharpVersion = `sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`
  const native = jpegOnlyQuality(toSteps(degradation)) !== undefined ? nativePngJpeg().addon : undefined
  if (!native) return sharpVersion
  return `PNG → JPEG: ${native.versions.deflate} + ${native.versions.jpeg} (native addon) for ${NATIVE_PNG_SCOPE}; ${sharpVersion} for every other image`
}

/**
 * Degrades one encoded image the way GenImage's Table 5 does, and returns the encoded result: the one function
 * behind both `genimage dataset degrade` and the table5 evaluator, so both test on the same bytes. Steps run
 * downscale → blur → JPEG (see `DEGRADATION_METHOD`); `none` (or no step) returns the input unchanged.
 * A PNG that is only re-encoded as JPEG goes through the native libdeflate + libjpeg-turbo path when it is built,
 * which writes the same bytes as sharp; whatever it declines goes through sharp, errors included.
 * @example await degradeImage(png, parseDegradation('jpeg-65')) // JPEG bytes at quality 65
 */
export async function degradeImage(bytes: Uint8Array, degradation: Degradation | DegradationSteps, options: DegradeImageOptions = {}): Promise<Buffer> {
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const steps = toSteps(degradation)
  if (!changesImage(steps)) return input
  const maxPixels = options.maxPixels ?? MAX_DECODE_PIXELS
  const quality = jpegOnlyQuality(steps)
  const native = quality !== undefined && isPngSignature(input) ? nativePngJpeg().addon : undefined
  let nativeDeclined: NativeFailure | 'error' | undefined
  if (native && quality !== undefined) {
    try {
      const output = await native.pngToJpeg(input, quality, maxPixels)
      options.onRoute?.({ encoder: 'native' })
      return output
    } catch (error) {
      nativeDeclined = nativeFailureCode(error) ?? 'error'
    }
  }
  const output = await degradeWithSharp(input, steps, options.interpolation ?? DEFAULT_DEGRADATION_PARAMETERS.interpolation, maxPixels)
  options.onRoute?.(nativeDeclined ? { encoder: 'sharp', nativeDeclined } : { encoder: 'sharp' })
  return output
}

function degradeWithSharp(bytes: Buffer, steps: DegradationSteps, interpolation: Interpolation, maxPixels: number): Promise<Buffer> {
  let pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated', pages: 1 }).rotate().removeAlpha()
  if (steps.downscale !== undefined) {
    const size = steps.downscale
    pipeline = pipeline.resize({ width: size, height: size, fit: 'outside', withoutEnlargement: true, kernel: SHARP_KERNELS[interpolation] })
  }
  if (steps.blur !== undefined) pipeline = pipeline.blur(steps.blur)
  if (steps.jpeg !== undefined) return pipeline.jpeg({ quality: steps.jpeg, chromaSubsampling: '4:2:0', optimiseCoding: false }).toBuffer()
  return pipeline.png().toBuffer()
}
