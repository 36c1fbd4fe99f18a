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

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

function readPngHeader(bytes: Uint8Array): ImageHeader | undefined {
  if (bytes.length < 24 || !PNG_SIGNATURE.every((value, i) => bytes[i] === value)) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return { format: 'png', width: view.getUint32(16), height: view.getUint32(20), jpegQuality: null }
}

function readJpegHeader(bytes: Uint8Array): ImageHeader | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined
  let offset = 2
  while (offset + 9 < bytes.length) {
    if (bytes[offset] !== 0xff) return undefined
    const marker = bytes[offset + 1]!
    if (marker === 0xff) {
      offset++
      continue
    }
    const length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!
    const isStartOfFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
    if (isStartOfFrame) {
      const height = (bytes[offset + 5]! << 8) | bytes[offset + 6]!
      const width = (bytes[offset + 7]! << 8) | bytes[offset + 8]!
      return { format: 'jpeg', width, height, jpegQuality: estimateJpegQuality(bytes)?.quality ?? null }
    }
    offset += 2 + length
  }
  return undefined
}

/**
 * Reads format, width, height and estimated JPEG quality from the first bytes of an image.
 * PNG and JPEG are parsed directly; other formats ask sharp for metadata. Returns undefined when unreadable.
 */
export async function readImageHeader(bytes: Uint8Array): Promise<ImageHeader | undefined> {
  const direct = readPngHeader(bytes) ?? readJpegHeader(bytes)
  if (direct) return direct
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
