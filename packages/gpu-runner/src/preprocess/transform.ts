import type { InputConfig } from '@genimage/shared'
import sharp, { type Metadata, type OutputInfo } from 'sharp'

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
  return async (encoded) => {
    const source = () => sharp(encoded, { limitInputPixels: options.maxPixels, failOn: 'error', pages: 1 })
    let meta: Metadata
    try {
      meta = await source().metadata()
    } catch (error) {
      throw classify(error)
    }
    if (!meta.width || !meta.height) throw new ImageDecodeError('corrupt_image', 'image header has no dimensions')
    if (meta.width * meta.height > options.maxPixels) {
      throw new ImageDecodeError(
        'image_too_large',
        `image is ${meta.width}×${meta.height} pixels; the limit is ${options.maxPixels} pixels`,
      )
    }
    const oriented = (meta.orientation ?? 1) >= 5 ? { w: meta.height, h: meta.width } : { w: meta.width, h: meta.height }
    let pipeline = source().rotate().toColourspace('srgb').removeAlpha()
    if (config.resize === 'stretch') {
      pipeline = pipeline.resize({ width, height, fit: 'fill', kernel })
    } else if (config.resize === 'shorter-side-center-crop') {
      const scale = Math.round(Math.max(height, width) / config.cropPct) / Math.min(oriented.w, oriented.h)
      pipeline = pipeline.resize({
        width: Math.max(width, Math.round(oriented.w * scale)),
        height: Math.max(height, Math.round(oriented.h * scale)),
        fit: 'fill',
        kernel,
      })
    }
    let decoded: { data: Buffer; info: OutputInfo }
    try {
      decoded = await pipeline.raw().toBuffer({ resolveWithObject: true })
    } catch (error) {
      throw classify(error)
    }
    const crop = centerCrop(decoded.data, decoded.info.width, decoded.info.height, width, height)
    return toTensor(crop, config)
  }
}

/** Cuts the centre width × height out of interleaved RGB pixels, repeating edge pixels where the image is smaller. */
export function centerCrop(pixels: Uint8Array, w: number, h: number, width: number, height: number): Uint8Array {
  if (w === width && h === height) return pixels
  const left = Math.floor((w - width) / 2)
  const top = Math.floor((h - height) / 2)
  const out = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    const sy = Math.min(h - 1, Math.max(0, top + y))
    for (let x = 0; x < width; x++) {
      const sx = Math.min(w - 1, Math.max(0, left + x))
      const s = (sy * w + sx) * 3
      const d = (y * width + x) * 3
      out[d] = pixels[s] as number
      out[d + 1] = pixels[s + 1] as number
      out[d + 2] = pixels[s + 2] as number
    }
  }
  return out
}

/** Turns interleaved 8-bit RGB pixels into a normalised float tensor for one image. */
export function toTensor(pixels: Uint8Array, config: InputConfig): Float32Array {
  const { height, width, mean, std } = config
  const plane = height * width
  const out = new Float32Array(plane * 3)
  const order = config.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2]
  for (let c = 0; c < 3; c++) {
    const src = order[c] as number
    const m = mean[c] as number
    const s = 255 * (std[c] as number)
    const offset = m * 255
    if (config.layout === 'NCHW') {
      const base = c * plane
      for (let i = 0; i < plane; i++) out[base + i] = ((pixels[i * 3 + src] as number) - offset) / s
    } else {
      for (let i = 0; i < plane; i++) out[i * 3 + c] = ((pixels[i * 3 + src] as number) - offset) / s
    }
  }
  return out
}

function classify(error: unknown): ImageDecodeError {
  const message = error instanceof Error ? error.message : String(error)
  if (/pixel limit/i.test(message)) return new ImageDecodeError('image_too_large', message)
  if (/unsupported image format/i.test(message)) {
    return new ImageDecodeError('unsupported_media_type', 'bytes are not an image format the runner decodes')
  }
  return new ImageDecodeError('corrupt_image', `image could not be decoded: ${message}`)
}
