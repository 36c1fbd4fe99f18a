import type { InputConfig } from '@genimage/shared'
import sharp, { type OutputInfo } from 'sharp'

/** Why an encoded image could not become a tensor; `code` is the public error code. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError'
  constructor(
    readonly code: 'unsupported_media_type' | 'image_too_large' | 'corrupt_image',
    message: string,
  ) {
    super(message)
  }
}

export interface TransformOptions {
  /** Largest width × height accepted, checked from the header before any pixel is decoded. */
  maxPixels: number
}

export type ImageTransform = (encoded: Uint8Array) => Promise<Float32Array>

const KERNELS = { nearest: 'nearest', bilinear: 'linear', bicubic: 'cubic', lanczos3: 'lanczos3' } as const

/**
 * Builds the eval transform a model's input config describes: decode (EXIF orientation applied, first frame,
 * sRGB, no alpha), resize/crop, scale to [0,1], normalise, and lay out as NCHW or NHWC.
 */
export function createTransform(config: InputConfig, options: TransformOptions): ImageTransform {
  const { height, width } = config
  const kernel = KERNELS[config.interpolation]
  const shorterSide = Math.round(Math.max(height, width) / config.cropPct)
  const lookup = normalisationTables(config)
  return async (encoded) => {
    let pipeline = sharp(encoded, { limitInputPixels: options.maxPixels, failOn: 'error', pages: 1 })
      .rotate()
      .toColourspace('srgb')
      .removeAlpha()
    if (config.resize === 'stretch') {
      pipeline = pipeline.resize({ width, height, fit: 'fill', kernel })
    } else if (config.resize === 'shorter-side-center-crop') {
      pipeline = pipeline.resize({ width: shorterSide, height: shorterSide, fit: 'outside', kernel })
    }
    let decoded: { data: Buffer; info: OutputInfo }
    try {
      decoded = await pipeline.raw().toBuffer({ resolveWithObject: true })
    } catch (error) {
      throw classify(error, options.maxPixels)
    }
    if (decoded.info.channels !== 3) throw new ImageDecodeError('corrupt_image', `decoded to ${decoded.info.channels} channels`)
    return cropToTensor(decoded.data, decoded.info.width, decoded.info.height, config, lookup)
  }
}

/** Per channel, the normalised value of each 8-bit level: (v / 255 − mean) / std, in the config's channel order. */
export function normalisationTables(config: InputConfig): Float32Array[] {
  return [0, 1, 2].map((c) => {
    const table = new Float32Array(256)
    const mean = config.mean[c] as number
    const std = config.std[c] as number
    for (let v = 0; v < 256; v++) table[v] = (v / 255 - mean) / std
    return table
  })
}

/**
 * Cuts the centre height × width out of interleaved RGB pixels (repeating edge pixels where the image is smaller)
 * and writes the normalised tensor in one pass, in the config's layout and channel order.
 */
export function cropToTensor(
  pixels: Uint8Array,
  w: number,
  h: number,
  config: InputConfig,
  lookup: Float32Array[] = normalisationTables(config),
): Float32Array {
  const { height, width } = config
  const plane = height * width
  const out = new Float32Array(plane * 3)
  const left = Math.floor((w - width) / 2)
  const top = Math.floor((h - height) / 2)
  const source = config.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2]
  const [t0, t1, t2] = lookup as [Float32Array, Float32Array, Float32Array]
  const [s0, s1, s2] = source as [number, number, number]
  const nchw = config.layout === 'NCHW'
  for (let y = 0; y < height; y++) {
    const sy = Math.min(h - 1, Math.max(0, top + y))
    const rowStart = sy * w
    for (let x = 0; x < width; x++) {
      const sx = Math.min(w - 1, Math.max(0, left + x))
      const p = (rowStart + sx) * 3
      const i = y * width + x
      if (nchw) {
        out[i] = t0[pixels[p + s0] as number] as number
        out[plane + i] = t1[pixels[p + s1] as number] as number
        out[2 * plane + i] = t2[pixels[p + s2] as number] as number
      } else {
        out[i * 3] = t0[pixels[p + s0] as number] as number
        out[i * 3 + 1] = t1[pixels[p + s1] as number] as number
        out[i * 3 + 2] = t2[pixels[p + s2] as number] as number
      }
    }
  }
  return out
}

function classify(error: unknown, maxPixels: number): ImageDecodeError {
  const message = error instanceof Error ? error.message : String(error)
  if (/pixel limit/i.test(message)) {
    return new ImageDecodeError('image_too_large', `image is larger than the limit of ${maxPixels} pixels`)
  }
  if (/unsupported image format/i.test(message)) {
    return new ImageDecodeError('unsupported_media_type', 'bytes are not an image format the runner decodes')
  }
  return new ImageDecodeError('corrupt_image', `image could not be decoded: ${message}`)
}
