import { type NativeAddonStatus, type NativeFailure, nativeAddon } from './native-addon.ts'

/** Why the native PNG → JPEG path declined an image; the caller then uses sharp, which has the final word. */
export type NativePngFailure = NativeFailure

/** Unfiltered 8-bit pixels of a PNG, interleaved, `channels` 1 (grey) or 3 (RGB). */
export interface DecodedPng {
  data: Uint8Array
  width: number
  height: number
  channels: number
}

/** The libdeflate + libjpeg(-turbo) addon built at install from packages/imaging/native/png-jpeg. */
export interface NativePngJpeg {
  /**
   * Decodes an 8-bit non-interlaced grey/RGB PNG and encodes it as JPEG (4:2:0, standard Huffman tables, no JFIF
   * header: the bytes sharp writes for the same pixels and settings), off the event loop.
   */
  pngToJpeg(png: Uint8Array, quality: number, maxPixels: number): Promise<Buffer>
  /** The same decoder's pixels, for checking it against other decoders. */
  decodePng(png: Uint8Array, maxPixels: number): Promise<DecodedPng>
  /** The libraries compiled in, e.g. `{ jpeg: 'libjpeg-turbo 2.1.5', deflate: 'libdeflate 1.14' }`. */
  versions: { jpeg: string; deflate: string }
}

/** Whether the native path is in use, and why not when it is not. */
export type NativePngJpegStatus = NativeAddonStatus<NativePngJpeg>

/** What the native path handles; everything else goes to sharp. */
export const NATIVE_PNG_SCOPE = '8-bit non-interlaced grey or RGB PNGs without an ICC profile, transparency or EXIF block'

/**
 * Loads the PNG → JPEG addon built at install time (scripts/build-native.mjs). Absent or unloadable, or with
 * GENIMAGE_PNG_JPEG=sharp, `degradeImage` encodes every image with sharp alone.
 */
export const nativePngJpeg: (env?: Record<string, string | undefined>) => NativePngJpegStatus = nativeAddon({
  folder: 'png-jpeg',
  file: 'png_jpeg',
  title: 'native PNG → JPEG path',
  optOut: 'GENIMAGE_PNG_JPEG',
  adapt: (addon: NativePngJpeg) => ({ addon, reason: `${addon.versions.deflate} + ${addon.versions.jpeg} for ${NATIVE_PNG_SCOPE}` }),
})
