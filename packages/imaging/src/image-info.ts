import { jpegSize, pngSize } from '@genimage/shared/genimage'
import sharp from 'sharp'
import { estimateJpegQuality } from './jpeg-quality.ts'

/** Format and size of an encoded image, read from its header. */
export interface ImageHeader {
  format: string
  width: number
  height: number
  /** Estimated IJG quality for JPEGs, otherwise null. */
  jpegQuality: number | null
}

/**
 * Reads format, width, height and estimated JPEG quality from the first bytes of an image.
 * PNG and JPEG are parsed directly; other formats ask sharp for metadata. Returns undefined when unreadable.
 */
export async function readImageHeader(bytes: Uint8Array): Promise<ImageHeader | undefined> {
  const png = pngSize(bytes)
  if (png) return { format: 'png', ...png, jpegQuality: null }
  const jpeg = jpegSize(bytes)
  if (jpeg) return { format: 'jpeg', ...jpeg, jpegQuality: estimateJpegQuality(bytes)?.quality ?? null }
  try {
    const meta = await sharp(bytes).metadata()
    if (!meta.width || !meta.height) return undefined
    return { format: meta.format ?? 'unknown', width: meta.width, height: meta.height, jpegQuality: null }
  } catch {
    return undefined
  }
}

/** Why an image file is not usable: stable codes plus the decoder's words. */
export interface DecodeProblem {
  reason: 'empty' | 'undecodable'
  detail: string
}

/** Largest image `decodeProblem` will decode; bigger headers are reported, never decoded (decompression bombs). */
export const MAX_DECODE_PIXELS = 16_384 * 16_384

/**
 * Fully decodes an image (every pixel, so truncated files fail) and returns what is wrong, or undefined when it is fine.
 * Memory stays bounded: the decode streams through libvips and no bitmap is kept.
 */
export async function decodeProblem(bytes: Uint8Array): Promise<DecodeProblem | undefined> {
  if (bytes.length === 0) return { reason: 'empty', detail: 'file has 0 bytes' }
  try {
    // Statistics need every pixel, so the whole file is decoded, but libvips streams it in strips: no full bitmap.
    const stats = await sharp(bytes, { failOn: 'truncated', limitInputPixels: MAX_DECODE_PIXELS, sequentialRead: true }).stats()
    if (stats.channels.length === 0) return { reason: 'undecodable', detail: 'decoder produced no pixels' }
    return undefined
  } catch (error) {
    return { reason: 'undecodable', detail: error instanceof Error ? error.message.split('\n')[0]! : String(error) }
  }
}
