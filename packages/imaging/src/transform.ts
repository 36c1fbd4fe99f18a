import type { InputConfig } from '@genimage/shared'
import { SHARP_KERNELS } from '@genimage/shared/genimage'
import sharp, { type OutputInfo, type Sharp } from 'sharp'
import { isPlainJpeg, type ScaledJpegDecoder, scaledJpegDecoder, type TensorSpec } from './scaled-jpeg.ts'

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
  /**
   * Decoder for plain JPEGs (default: the native libjpeg-turbo addon when built, see scaled-jpeg.ts; `null`: sharp
   * only). It decodes at a reduced DCT scale when the model shrinks the image anyway, as libvips' shrink-on-load does.
   */
  jpegDecoder?: ScaledJpegDecoder | null
}

/**
 * Encoded image in, the model's input tensor out. Tensors are about 600 KB each at 224²: a caller done with one
 * (its values copied into a batch) hands it back with `recycle`, and a later image is written into it instead
 * of a new allocation, which would otherwise bring the garbage collector round several times a second under load.
 */
export interface ImageTransform {
  (encoded: Uint8Array): Promise<Float32Array>
  /** Takes back a tensor this transform made, for reuse; the caller must not touch it afterwards. */
  recycle(tensor: Float32Array): void
}

/**
 * Builds the eval transform a model's input config describes: decode (EXIF orientation applied, first frame,
 * sRGB, no alpha), resize/crop, scale to [0,1], normalise, and lay out as NCHW or NHWC.
 */
export function createTransform(config: InputConfig, options: TransformOptions): ImageTransform {
  const { height, width } = config
  const kernel = SHARP_KERNELS[config.interpolation]
  const shorterSide = Math.round(Math.max(height, width) / config.cropPct)
  const lookup = normalisationTables(config)
  const jpegDecoder = options.jpegDecoder === undefined ? scaledJpegDecoder().decoder : (options.jpegDecoder ?? undefined)
  const resizeRaw = (data: Uint8Array, w: number, h: number) =>
    resizePipeline(sharp(data, { raw: { width: w, height: h, channels: 3 } }))
      .raw()
      .toBuffer({ resolveWithObject: true })

  function resizePipeline(pipeline: Sharp): Sharp {
    if (config.resize === 'stretch') return pipeline.resize({ width, height, fit: 'fill', kernel })
    if (config.resize === 'shorter-side-center-crop') return pipeline.resize({ width: shorterSide, height: shorterSide, fit: 'outside', kernel })
    return pipeline
  }

  // Decoded pixels live only until they are cropped into the tensor: scratch buffers, one per decode in flight,
  // spare an allocation (and later a GC) of about 200 KB per image. Recycled tensors do the same for the output.
  const scratch: Uint8Array[] = []
  const tensorLength = 3 * height * width
  const spareTensors: Float32Array[] = []
  const takeTensor = () => spareTensors.pop() ?? new Float32Array(tensorLength)
  const recycle = (tensor: Float32Array) => {
    if (
      tensor.length === tensorLength &&
      tensor.byteOffset === 0 &&
      tensor.buffer.byteLength === tensorLength * 4 &&
      spareTensors.length < MAX_SPARE_TENSORS &&
      !spareTensors.includes(tensor)
    ) {
      spareTensors.push(tensor)
    }
  }
  const scratchBytes = 3 * (2 * Math.max(shorterSide, height, width)) ** 2
  const tensorSpec: TensorSpec = {
    fit: config.resize === 'center-crop' ? 0 : config.resize === 'shorter-side-center-crop' ? 1 : 2,
    shorterSide,
    width,
    height,
    lut: Float32Array.from(lookup.flatMap((table) => Array.from(table))),
    nchw: config.layout === 'NCHW',
    bgr: config.channelOrder === 'BGR',
  }

  /** The native path for plain JPEGs; undefined hands the image to sharp (which also judges every failure). */
  async function decodeJpeg(encoded: Uint8Array): Promise<Float32Array | undefined> {
    if (!jpegDecoder || (config.interpolation === 'nearest' && config.resize !== 'center-crop') || !isPlainJpeg(encoded)) return undefined
    const [minWidth, minHeight] =
      config.resize === 'stretch' ? [width, height] : config.resize === 'shorter-side-center-crop' ? [shorterSide, shorterSide] : [NO_SCALING, NO_SCALING]
    const into = scratch.pop() ?? new Uint8Array(scratchBytes)
    const tensorInto = takeTensor()
    try {
      const image = await jpegDecoder.decode(encoded, minWidth, minHeight, options.maxPixels, into, tensorSpec, tensorInto)
      // The decoder cut the tensor itself when the decoded size needed no resize; otherwise sharp finishes the resize.
      if (image.tensor) return image.tensor
      const resized = await resizeRaw(image.data, image.width, image.height)
      return cropToTensor(resized.data, resized.info.width, resized.info.height, config, lookup, tensorInto)
    } catch (error) {
      recycle(tensorInto)
      if ((error as { code?: string }).code === 'too_large') throw imageTooLargeError(options.maxPixels)
      return undefined
    } finally {
      if (scratch.length < MAX_SCRATCH_BUFFERS) scratch.push(into)
    }
  }

  const transform = async (encoded: Uint8Array) => {
    const fast = await decodeJpeg(encoded)
    if (fast) return fast
    const pipeline = resizePipeline(
      sharp(encoded, { limitInputPixels: options.maxPixels, failOn: 'error', pages: 1 }).rotate().toColourspace('srgb').removeAlpha(),
    )
    let decoded: { data: Buffer; info: OutputInfo }
    try {
      decoded = await pipeline.raw().toBuffer({ resolveWithObject: true })
    } catch (error) {
      throw classifyDecodeError(error, options.maxPixels)
    }
    if (decoded.info.channels !== 3) throw new ImageDecodeError('corrupt_image', `decoded to ${decoded.info.channels} channels`)
    return cropToTensor(decoded.data, decoded.info.width, decoded.info.height, config, lookup, takeTensor())
  }
  return Object.assign(transform, { recycle })
}

const NO_SCALING = 0xffffffff
const MAX_SCRATCH_BUFFERS = 16
/** Spare tensors kept per transform: enough for two full batches and the decodes in flight. */
const MAX_SPARE_TENSORS = 48

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
 * and writes the normalised tensor in one pass, in the config's layout and channel order (into `out` if given).
 */
export function cropToTensor(
  pixels: Uint8Array,
  w: number,
  h: number,
  config: InputConfig,
  lookup: Float32Array[] = normalisationTables(config),
  out: Float32Array = new Float32Array(3 * config.height * config.width),
): Float32Array {
  return cutToTensor(pixels, w, h, Math.floor((w - config.width) / 2), Math.floor((h - config.height) / 2), config, lookup, out)
}

/**
 * Cuts the height × width window whose top-left corner is (`left`, `top`) out of interleaved RGB pixels (edge pixels
 * repeat outside the image) and writes the normalised tensor, as {@link cropToTensor} does for the centre.
 */
export function cutToTensor(
  pixels: Uint8Array,
  w: number,
  h: number,
  left: number,
  top: number,
  config: InputConfig,
  lookup: Float32Array[] = normalisationTables(config),
  out: Float32Array = new Float32Array(3 * config.height * config.width),
): Float32Array {
  const { height, width } = config
  const plane = height * width
  if (out.length !== plane * 3) throw new RangeError(`tensor has ${out.length} values, expected ${plane * 3}`)
  const bgr = config.channelOrder === 'BGR'
  const [t0, t1, t2] = lookup as [Float32Array, Float32Array, Float32Array]
  const columns = new Int32Array(width)
  for (let x = 0; x < width; x++) columns[x] = Math.min(w - 1, Math.max(0, left + x)) * 3 + (bgr ? 2 : 0)
  const step = bgr ? -1 : 1
  if (config.layout === 'NCHW') {
    for (let y = 0; y < height; y++) {
      const row = Math.min(h - 1, Math.max(0, top + y)) * w * 3
      const i0 = y * width
      for (let x = 0; x < width; x++) {
        const p = row + (columns[x] as number)
        out[i0 + x] = t0[pixels[p] as number] as number
        out[plane + i0 + x] = t1[pixels[p + step] as number] as number
        out[2 * plane + i0 + x] = t2[pixels[p + 2 * step] as number] as number
      }
    }
  } else {
    for (let y = 0; y < height; y++) {
      const row = Math.min(h - 1, Math.max(0, top + y)) * w * 3
      let i = y * width * 3
      for (let x = 0; x < width; x++, i += 3) {
        const p = row + (columns[x] as number)
        out[i] = t0[pixels[p] as number] as number
        out[i + 1] = t1[pixels[p + step] as number] as number
        out[i + 2] = t2[pixels[p + 2 * step] as number] as number
      }
    }
  }
  return out
}

/** The `image_too_large` error for a header over `maxPixels`. */
export function imageTooLargeError(maxPixels: number): ImageDecodeError {
  return new ImageDecodeError('image_too_large', `image is larger than the limit of ${maxPixels} pixels`)
}

/** Turns a sharp failure into the ImageDecodeError a caller answers with. */
export function classifyDecodeError(error: unknown, maxPixels: number): ImageDecodeError {
  const message = error instanceof Error ? error.message : String(error)
  if (/pixel limit/i.test(message)) return imageTooLargeError(maxPixels)
  if (/unsupported image format/i.test(message)) {
    return new ImageDecodeError('unsupported_media_type', 'bytes are not an image format the runner decodes')
  }
  return new ImageDecodeError('corrupt_image', `image could not be decoded: ${message}`)
}
