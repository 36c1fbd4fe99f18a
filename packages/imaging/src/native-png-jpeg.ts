import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

/** Why the native PNG → JPEG path declined an image; the caller then uses sharp, which has the final word. */
export type NativePngFailure = 'too_large' | 'unsupported' | 'corrupt'

/** Unfiltered 8-bit pixels of a PNG, interleaved, `channels` 1 (grey) or 3 (RGB). */
export interface DecodedPng {
  data: Uint8Array
  width: number
  height: number
  channels: number
}

/** The libdeflate + libjpeg(-turbo) addon built at install from packages/imaging/native/png-jpeg. */
export interface NativePngJpeg {
  /** Decodes an 8-bit non-interlaced grey/RGB PNG and encodes it as JPEG (4:2:0, standard Huffman tables), off the event loop. */
  pngToJpeg(png: Uint8Array, quality: number, maxPixels: number): Promise<Buffer>
  /** The same decoder's pixels, for checking it against other decoders. */
  decodePng(png: Uint8Array, maxPixels: number): Promise<DecodedPng>
  /** The libraries compiled in, e.g. `{ jpeg: 'libjpeg-turbo 2.1.5', deflate: 'libdeflate 1.14' }`. */
  versions: { jpeg: string; deflate: string }
}

/** Whether the native path is in use, and why not when it is not. */
export interface NativePngJpegStatus {
  addon?: NativePngJpeg
  reason: string
}

/** What the native path handles; everything else goes to sharp. */
export const NATIVE_PNG_SCOPE = '8-bit non-interlaced grey or RGB PNGs without an ICC profile or transparency'

const ADDON = fileURLToPath(new URL('../native/png-jpeg/build/Release/png_jpeg.node', import.meta.url))
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
let loaded: NativePngJpegStatus | undefined

/**
 * Loads the PNG → JPEG addon built at install time (scripts/build-native.mjs). Absent or unloadable, or with
 * GENIMAGE_PNG_JPEG=sharp, degrade encodes every image with sharp alone.
 */
export function nativePngJpeg(env: Record<string, string | undefined> = process.env): NativePngJpegStatus {
  if (env.GENIMAGE_PNG_JPEG === 'sharp') return { reason: 'GENIMAGE_PNG_JPEG=sharp' }
  if (loaded) return loaded
  if (!existsSync(ADDON)) {
    loaded = { reason: `native PNG → JPEG path not built (${ADDON} missing; npm run build:native builds it)` }
    return loaded
  }
  try {
    const addon = createRequire(import.meta.url)(ADDON) as NativePngJpeg
    loaded = { addon, reason: `${addon.versions.deflate} + ${addon.versions.jpeg} for ${NATIVE_PNG_SCOPE}` }
  } catch (error) {
    loaded = { reason: `native PNG → JPEG path failed to load: ${error instanceof Error ? error.message : String(error)}` }
  }
  return loaded
}

/** True when the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((value, i) => bytes[i] === value)
}

/** The failure code of a native rejection, or undefined for any other error. */
export function nativeFailureCode(error: unknown): NativePngFailure | undefined {
  const code = (error as { code?: unknown } | undefined)?.code
  return code === 'too_large' || code === 'unsupported' || code === 'corrupt' ? code : undefined
}
