import type { InputConfig } from '@genimage/shared'
import { SHARP_KERNELS } from '@genimage/shared/genimage'
import type { TrainingAugmentation } from '@genimage/shared/zoo'
import sharp from 'sharp'
import type { SeededRandom } from '../zoo/params.ts'
import { TrainingDataError } from './dataset.ts'

/** Interleaved 8-bit RGB pixels. */
export interface RgbImage {
  data: Uint8Array
  width: number
  height: number
}

export interface DecodeOptions {
  /** Re-encode as JPEG at this quality before anything else ("Fake or JPEG?" alignment). */
  jpegAlignQuality?: number
}

/**
 * Decodes an image to the resolution training crops are taken from, as the input config implies: with
 * `evidence` (native-resolution tiles, see ModelEvidence) or `center-crop` it keeps full resolution,
 * `shorter-side-center-crop` scales the shorter side to size ÷ cropPct, `stretch` resizes to exactly height × width.
 */
export async function decodeForTraining(path: string, input: InputConfig, options: DecodeOptions = {}): Promise<RgbImage> {
  try {
    let source: Buffer | string = path
    if (options.jpegAlignQuality !== undefined) {
      source = await sharp(path, { failOn: 'error' }).rotate().removeAlpha().jpeg({ quality: options.jpegAlignQuality }).toBuffer()
    }
    let pipeline = sharp(source, { failOn: 'error', pages: 1 }).rotate().toColourspace('srgb').removeAlpha()
    const kernel = SHARP_KERNELS[input.interpolation]
    // Native evidence keeps the file's pixels as they are: evidenceCrop cuts them.
    const resize = input.evidence ? 'center-crop' : input.resize
    if (resize === 'stretch') {
      pipeline = pipeline.resize({ width: input.width, height: input.height, fit: 'fill', kernel })
    } else if (resize === 'shorter-side-center-crop') {
      const target = Math.round(Math.max(input.height, input.width) / input.cropPct)
      pipeline = pipeline.resize({ width: target, height: target, fit: 'outside', kernel })
    }
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true })
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height }
  } catch (error) {
    throw new TrainingDataError('corrupt_image', `cannot decode ${path}: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/** A height × width window at a random position (edge pixels repeat where the image is smaller), flipped with p = 0.5. */
export function randomCropFlip(image: RgbImage, height: number, width: number, random: SeededRandom, flip = true): RgbImage {
  const top = image.height > height ? random.int(image.height - height + 1) : Math.floor((image.height - height) / 2)
  const left = image.width > width ? random.int(image.width - width + 1) : Math.floor((image.width - width) / 2)
  const mirror = flip && random.next() < 0.5
  const out = new Uint8Array(height * width * 3)
  for (let y = 0; y < height; y++) {
    const sy = Math.min(image.height - 1, Math.max(0, top + y))
    for (let x = 0; x < width; x++) {
      const sx = Math.min(image.width - 1, Math.max(0, left + (mirror ? width - 1 - x : x)))
      const s = (sy * image.width + sx) * 3
      const d = (y * width + x) * 3
      out[d] = image.data[s]!
      out[d + 1] = image.data[s + 1]!
      out[d + 2] = image.data[s + 2]!
    }
  }
  return { data: out, width, height }
}

/**
 * The training crop of one image for an input config. Without `evidence`: a height × width random crop and flip of
 * the decoded image (today's recipe). With it: an `evidence.crop`-sided random crop and flip at native resolution,
 * pixel values untouched, which is what the runner's tiles show the model; resized to the input size only when the
 * card says `downscale: 'tile-to-input'`.
 */
export async function evidenceCrop(image: RgbImage, input: InputConfig, random: SeededRandom): Promise<RgbImage> {
  const evidence = input.evidence
  if (!evidence) return randomCropFlip(image, input.height, input.width, random)
  const crop = randomCropFlip(image, evidence.crop, evidence.crop, random)
  if (evidence.downscale !== 'tile-to-input' || (crop.width === input.width && crop.height === input.height)) return crop
  const { data } = await sharp(crop.data, { raw: { width: crop.width, height: crop.height, channels: 3 } })
    .resize({ width: input.width, height: input.height, fit: 'fill', kernel: SHARP_KERNELS[input.interpolation] })
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: input.width, height: input.height }
}

/**
 * CNNSpot's augmentation (Wang et al. 2020, "Blur+JPEG (0.5)"): with probability 0.5 a Gaussian blur with
 * sigma ~ U[0, 3]; independently with probability 0.5 JPEG re-compression with quality ~ U{30, …, 100}.
 */
export async function blurJpeg(image: RgbImage, random: SeededRandom): Promise<RgbImage> {
  const blurSigma = random.next() < 0.5 ? random.next() * 3 : 0
  const jpegQuality = random.next() < 0.5 ? 30 + random.int(71) : 0
  if (blurSigma < 0.3 && jpegQuality === 0) return image
  const raw = { raw: { width: image.width, height: image.height, channels: 3 as const } }
  let pipeline = sharp(image.data, raw)
  if (blurSigma >= 0.3) pipeline = pipeline.blur(blurSigma)
  if (jpegQuality > 0) {
    const encoded = await pipeline.jpeg({ quality: jpegQuality }).toBuffer()
    pipeline = sharp(encoded)
  }
  const { data } = await pipeline.raw().toBuffer({ resolveWithObject: true })
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: image.width, height: image.height }
}

/** Applies the zoo's named augmentations in order. */
export async function applyAugmentations(image: RgbImage, augmentations: readonly TrainingAugmentation[], random: SeededRandom): Promise<RgbImage> {
  let out = image
  for (const augmentation of augmentations) {
    if (augmentation === 'blur-jpeg') out = await blurJpeg(out, random)
  }
  return out
}

/** Writes normalised NHWC floats of one image into `target` at `offset` (RGB order and mean/std from the config). */
export function normaliseInto(image: RgbImage, input: InputConfig, target: Float32Array, offset: number): void {
  const order = input.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2]
  const pixels = image.width * image.height
  for (let c = 0; c < 3; c++) {
    const src = order[c]!
    const scale = 255 * input.std[c]!
    const shift = 255 * input.mean[c]!
    for (let i = 0; i < pixels; i++) target[offset + i * 3 + c] = (image.data[i * 3 + src]! - shift) / scale
  }
}
