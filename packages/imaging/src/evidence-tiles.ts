import { evidenceProblem, evidenceTileLimit, type InputConfig, type ModelEvidence } from '@genimage/shared'
import { SHARP_KERNELS } from '@genimage/shared/genimage'
import sharp from 'sharp'
import { isPlainJpeg, scaledJpegDecoder } from './scaled-jpeg.ts'
import { classifyDecodeError, cutToTensor, ImageDecodeError, imageTooLargeError, normalisationTables, type TransformOptions } from './transform.ts'

/** A square region of an image, `side` pixels, top-left at (`left`, `top`); it may reach outside a small image. */
export interface TileRegion {
  left: number
  top: number
  side: number
}

/**
 * The tiles a card's evidence scores for a `width` × `height` image, centre crop first, then a grid row by row.
 * The grid has as many columns and rows as cover the image (⌈size / crop⌉), reduced while centre + grid exceed
 * the tile limit to the largest grid that fits, closest in shape to the image; its tiles are spread evenly from
 * edge to edge (an odd × odd grid's middle tile is the centre crop, counted once). The same size always gives the
 * same tiles.
 */
export function planTiles(width: number, height: number, evidence: ModelEvidence): TileRegion[] {
  const side = evidence.crop
  const centre = { left: spread(0, 1, width, side), top: spread(0, 1, height, side), side }
  const [columns, rows] = gridShape(Math.ceil(width / side), Math.ceil(height / side), evidenceTileLimit(evidence))
  const tiles = [centre]
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const left = spread(column, columns, width, side)
      const top = spread(row, rows, height, side)
      if (left !== centre.left || top !== centre.top) tiles.push({ left, top, side })
    }
  }
  return tiles
}

/** Tiles of a columns × rows grid plus the centre crop, which an odd × odd grid already holds. */
const withCentre = (columns: number, rows: number) => columns * rows + (columns % 2 === 1 && rows % 2 === 1 ? 0 : 1)

/** The grid with the most tiles (centre included) within `limit` and at most fx × fy; ties go to the image's shape. */
function gridShape(fx: number, fy: number, limit: number): [number, number] {
  let best: [number, number] = [1, 1]
  let bestSkew = Number.POSITIVE_INFINITY
  for (let rows = 1; rows <= Math.max(1, fy); rows++) {
    let columns = Math.min(Math.max(1, fx), limit)
    while (columns > 1 && withCentre(columns, rows) > limit) columns--
    if (withCentre(columns, rows) > limit) break
    const skew = Math.abs(Math.log(columns / rows / (Math.max(1, fx) / Math.max(1, fy))))
    const count = withCentre(columns, rows)
    const bestCount = withCentre(...best)
    if (count > bestCount || (count === bestCount && skew < bestSkew)) {
      best = [columns, rows]
      bestSkew = skew
    }
  }
  return best
}

/** Position of tile `index` of `count` spread over `size` pixels: first at 0, last flush with the far edge, middle centred. */
function spread(index: number, count: number, size: number, side: number): number {
  if (count === 1 || size <= side) return Math.floor((size - side) / 2)
  return Math.floor((index * (size - side)) / (count - 1))
}

/** Encoded image in, one model input tensor per evidence tile out (centre crop first, see {@link planTiles}). */
export interface TileTransform {
  (encoded: Uint8Array): Promise<Float32Array[]>
  /** Takes back a tensor this transform made, for reuse; the caller must not touch it afterwards. */
  recycle(tensor: Float32Array): void
  readonly evidence: ModelEvidence
}

/** Full-size interleaved RGB pixels. */
interface FullImage {
  data: Uint8Array
  width: number
  height: number
}

/**
 * Builds the transform of a card whose input has `evidence`: decode at full size (plain JPEGs with the native
 * libjpeg-turbo decoder at DCT scale 8/8, everything else with sharp: EXIF orientation, first frame, sRGB, no
 * alpha), then cut each tile pixel for pixel into a normalised tensor, resizing a tile only when the card says
 * `downscale: 'tile-to-input'`. Both decoders give the same pixels, so the tensors do not depend on which ran.
 * Throws when the card's input has no evidence or evidence that cannot serve its size.
 */
export function createTileTransform(config: InputConfig, options: TransformOptions): TileTransform {
  const evidence = config.evidence
  if (!evidence) throw new Error('the input config has no evidence: use createTransform')
  const problem = evidenceProblem(evidence, config)
  if (problem) throw new Error(problem)
  const lookup = normalisationTables(config)
  const jpegDecoder = options.jpegDecoder === undefined ? scaledJpegDecoder().decoder : (options.jpegDecoder ?? undefined)
  const tensorLength = 3 * config.height * config.width
  const spare: Float32Array[] = []
  const maxSpare = Math.min(256, Math.max(16, Math.floor(SPARE_TILE_BYTES / (tensorLength * 4))))
  const recycle = (tensor: Float32Array) => {
    if (
      tensor.length === tensorLength &&
      tensor.byteOffset === 0 &&
      tensor.buffer.byteLength === tensorLength * 4 &&
      spare.length < maxSpare &&
      !spare.includes(tensor)
    ) {
      spare.push(tensor)
    }
  }

  async function decodeFullSize(encoded: Uint8Array): Promise<FullImage> {
    if (jpegDecoder && isPlainJpeg(encoded)) {
      try {
        return await jpegDecoder.decode(encoded, FULL_SIZE, FULL_SIZE, options.maxPixels)
      } catch (error) {
        if ((error as { code?: string }).code === 'too_large') throw imageTooLargeError(options.maxPixels)
        // Any other refusal: sharp decodes it and has the final word.
      }
    }
    try {
      const pipeline = sharp(encoded, { limitInputPixels: options.maxPixels, failOn: 'error', pages: 1 }).rotate().toColourspace('srgb').removeAlpha()
      const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true })
      if (info.channels !== 3) throw new ImageDecodeError('corrupt_image', `decoded to ${info.channels} channels`)
      return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height }
    } catch (error) {
      throw error instanceof ImageDecodeError ? error : classifyDecodeError(error, options.maxPixels)
    }
  }

  const kernel = SHARP_KERNELS[config.interpolation]
  async function tileTensor(image: FullImage, tile: TileRegion): Promise<Float32Array> {
    const out = spare.pop() ?? new Float32Array(tensorLength)
    if (evidence?.downscale !== 'tile-to-input') return cutToTensor(image.data, image.width, image.height, tile.left, tile.top, config, lookup, out)
    const region = cutPixels(image, tile)
    const resized = await sharp(region, { raw: { width: tile.side, height: tile.side, channels: 3 } })
      .resize({ width: config.width, height: config.height, fit: 'fill', kernel })
      .raw()
      .toBuffer()
    return cutToTensor(resized, config.width, config.height, 0, 0, config, lookup, out)
  }

  const transform = async (encoded: Uint8Array) => {
    const image = await decodeFullSize(encoded)
    const tiles: Float32Array[] = []
    for (const tile of planTiles(image.width, image.height, evidence)) tiles.push(await tileTensor(image, tile))
    return tiles
  }
  return Object.assign(transform, { recycle, evidence })
}

/** The tile's side × side RGB pixels (edge pixels repeated outside the image). */
function cutPixels(image: FullImage, tile: TileRegion): Uint8Array {
  const out = new Uint8Array(tile.side * tile.side * 3)
  for (let y = 0; y < tile.side; y++) {
    const sy = Math.min(image.height - 1, Math.max(0, tile.top + y))
    for (let x = 0; x < tile.side; x++) {
      const s = (sy * image.width + Math.min(image.width - 1, Math.max(0, tile.left + x))) * 3
      out.set(image.data.subarray(s, s + 3), (y * tile.side + x) * 3)
    }
  }
  return out
}

/** A minimum size no JPEG reaches: the native decoder then keeps DCT scale 8/8, the full size. */
const FULL_SIZE = 0xffffffff
/** Memory for spare tile tensors per transform (16 to 256 tensors): a few images' worth of tiles. */
const SPARE_TILE_BYTES = 32 << 20
