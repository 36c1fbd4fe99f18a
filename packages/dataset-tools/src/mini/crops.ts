import sharp from 'sharp'
import type { DecodedPhoto, PhotoCache } from './photos.ts'
import type { Random } from './random.ts'

/** A square region of a source photo, in that photo's (≤1600 px) pixel grid. */
export interface CropRegion {
  photo: string
  left: number
  top: number
  side: number
}

/**
 * Picks a photo from `photos` and a square region whose side is between `size` and `2·size` (bounded by the photo),
 * so crops show objects at about the scale ImageNet's photos do after resizing.
 */
export function sampleRegion(photos: readonly DecodedPhotoSize[], size: number, random: Random): CropRegion {
  const photo = photos[random.int(0, photos.length - 1)]!
  const shortSide = Math.min(photo.width, photo.height)
  const side = random.int(Math.min(size, shortSide), Math.min(2 * size, shortSide))
  return {
    photo: photo.name,
    left: random.int(0, photo.width - side),
    top: random.int(0, photo.height - side),
    side,
  }
}

/** Just the dimensions of a photo, which is all region sampling needs. */
export type DecodedPhotoSize = Pick<DecodedPhoto, 'name' | 'width' | 'height'>

/** Cuts `region` out of its photo and resizes it to `size`² 8-bit RGB (Lanczos-3). */
export async function cropPixels(cache: PhotoCache, region: CropRegion, size: number): Promise<Buffer> {
  const photo = await cache.get(region.photo)
  return sharp(photo.pixels, { raw: { width: photo.width, height: photo.height, channels: 3 } })
    .extract({ left: region.left, top: region.top, width: region.side, height: region.side })
    .resize(size, size, { kernel: 'lanczos3' })
    .raw()
    .toBuffer()
}

/** Resizes a square 8-bit RGB image with the bicubic (Catmull-Rom) kernel; down-sizing is anti-aliased. */
export function resizeBicubic(pixels: Buffer, from: number, to: number): Promise<Buffer> {
  return sharp(pixels, { raw: { width: from, height: from, channels: 3 } })
    .resize(to, to, { kernel: 'cubic' })
    .raw()
    .toBuffer()
}

/** Encodes a square 8-bit RGB image as PNG or as baseline JPEG at `quality` (4:2:0, like ImageNet's files). */
export function encodeImage(pixels: Buffer, size: number, format: 'png' | 'jpeg', quality: number): Promise<Buffer> {
  const image = sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer()
}
