import type { EncodingFalsePositives } from '@genimage/shared'
import sharp from 'sharp'
import { wilsonUpper95 } from './calibrate.ts'

/** How a real photograph is sent: as its file, or re-encoded at full size (orientation applied, no resizing). */
export const PHOTO_ENCODINGS = ['as-is', 'png', 'jpeg-q75', 'jpeg-q85', 'jpeg-q95'] as const
export type PhotoEncoding = (typeof PHOTO_ENCODINGS)[number]

/** One line per encoding for a card or a report: what the bytes were. */
export const PHOTO_ENCODING_MEANING: Record<PhotoEncoding, string> = {
  'as-is': 'the file as its package ships it',
  png: 're-encoded as PNG',
  'jpeg-q75': 're-encoded as JPEG quality 75 (4:2:0)',
  'jpeg-q85': 're-encoded as JPEG quality 85 (4:2:0)',
  'jpeg-q95': 're-encoded as JPEG quality 95 (4:2:0)',
}

/**
 * The bytes of a photo in one encoding, in memory with sharp: `as-is` is the file unchanged; the others decode it
 * at full size, apply its EXIF orientation (which re-encoding would otherwise drop) and encode it again in sRGB.
 */
export async function encodePhoto(file: Uint8Array, encoding: PhotoEncoding): Promise<Uint8Array> {
  if (encoding === 'as-is') return file
  const image = sharp(file, { limitInputPixels: 64_000_000 }).rotate()
  if (encoding === 'png') return image.png({ compressionLevel: 3 }).toBuffer()
  const quality = Number(encoding.slice('jpeg-q'.length))
  return image.jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer()
}

/** False positives (verdict `ai`: score ≥ threshold) of one encoding's real-photo scores, with the Wilson bound. */
export function encodingFalsePositives(encoding: string, scores: readonly number[], threshold: number): EncodingFalsePositives {
  const falsePositives = scores.filter((s) => s >= threshold).length
  return {
    encoding,
    count: scores.length,
    falsePositives,
    rate: scores.length === 0 ? 0 : falsePositives / scores.length,
    upper95: wilsonUpper95(falsePositives, scores.length),
  }
}

/** Share of generated images caught (score ≥ threshold), overall and per generator. */
export function generatedAccuracy(
  scores: readonly { generator: string; score: number }[],
  threshold: number,
): { accuracy: number; count: number; perGenerator: Record<string, number> } {
  const perGenerator: Record<string, number> = {}
  for (const generator of [...new Set(scores.map((s) => s.generator))].sort()) {
    const own = scores.filter((s) => s.generator === generator)
    perGenerator[generator] = own.filter((s) => s.score >= threshold).length / own.length
  }
  const caught = scores.filter((s) => s.score >= threshold).length
  return { accuracy: scores.length === 0 ? 0 : caught / scores.length, count: scores.length, perGenerator }
}
