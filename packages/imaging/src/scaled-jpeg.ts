import { isJpegSignature, jpegSegments } from '@genimage/shared/genimage'
import { type NativeFailure, nativeAddon } from './native-addon.ts'

/** Interleaved 8-bit RGB decoded at `scale`/8 of the JPEG's size; `tensor` when a TensorSpec was met. */
export interface ScaledJpeg {
  data: Uint8Array
  width: number
  height: number
  scale: number
  tensor?: Float32Array
}

/**
 * Asks the decoder to also cut and normalise the model's input tensor when the decoded size needs no resize:
 * `fit` 0 centre crop (always), 1 when the shorter side is `shorterSide`, 2 when the size is width × height.
 * `lut` holds 3 × 256 values, the normalised value of each 8-bit level per output channel.
 */
export interface TensorSpec {
  fit: 0 | 1 | 2
  shorterSide: number
  width: number
  height: number
  lut: Float32Array
  nchw: boolean
  bgr: boolean
}

/** Why the native decoder declined an image; the caller then decodes with sharp, which has the final word. */
export type ScaledJpegFailure = NativeFailure

export interface ScaledJpegDecoder {
  /**
   * Decodes at the smallest DCT scale (1/8 … 8/8) that is still at least minWidth × minHeight, off the event loop.
   * With `into` (not touched until the promise settles), pixels that fit are written there and `data` views it.
   * With `tensorInto` (exactly width × height × 3 values, likewise untouched until then), the tensor is written
   * there and `tensor` is that array.
   */
  decode(
    jpeg: Uint8Array,
    minWidth: number,
    minHeight: number,
    maxPixels: number,
    into?: Uint8Array,
    tensor?: TensorSpec,
    tensorInto?: Float32Array,
  ): Promise<ScaledJpeg>
}

/** Whether the native JPEG decoder is in use, and why not when it is not. */
export interface ScaledJpegStatus {
  decoder?: ScaledJpegDecoder
  reason: string
}

/**
 * Loads the libjpeg-turbo addon built at install time (scripts/build-native.mjs) from packages/imaging/native/jpeg-scaled.
 * Absent or unloadable, or with GENIMAGE_JPEG_DECODER=sharp, the runner decodes every image with sharp alone.
 */
const loadScaledJpeg = nativeAddon({
  folder: 'jpeg-scaled',
  file: 'jpeg_scaled',
  title: 'native JPEG decoder',
  optOut: 'GENIMAGE_JPEG_DECODER',
  adapt: (raw: { decodeScaled: ScaledJpegDecoder['decode'] }) => ({
    addon: { decode: raw.decodeScaled } as ScaledJpegDecoder,
    reason: 'libjpeg-turbo with DCT scaling for plain JPEGs',
  }),
})

/** The native JPEG decoder when it is built and not turned off (`GENIMAGE_JPEG_DECODER=sharp`), and why not otherwise. */
export function scaledJpegDecoder(env: Record<string, string | undefined> = process.env): ScaledJpegStatus {
  const { addon, reason } = loadScaledJpeg(env)
  return addon ? { decoder: addon, reason } : { reason }
}

/**
 * True for a JPEG the native path decodes exactly as sharp would apart from resampling: no EXIF orientation other
 * than upright and no embedded ICC profile (sharp converts those to sRGB; the native path leaves them to sharp).
 */
export function isPlainJpeg(bytes: Uint8Array): boolean {
  if (!isJpegSignature(bytes)) return false
  for (const { marker, payload, end } of jpegSegments(bytes)) {
    if (marker === 0xda || marker === 0xd9) return true
    if (marker === 0xe2 && ascii(bytes, payload, 12) === 'ICC_PROFILE\0') return false
    if (marker === 0xe1 && ascii(bytes, payload, 6) === 'Exif\0\0' && exifOrientation(bytes, payload + 6, end) !== 1) return false
  }
  return false
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length))
}

/** The TIFF orientation tag (0x0112) of IFD0, 1 when absent; 0 when the block cannot be read. */
function exifOrientation(bytes: Uint8Array, start: number, end: number): number {
  if (end - start < 8 || end > bytes.length) return 0
  const little = bytes[start] === 0x49
  const u16 = (at: number) => (little ? (bytes[at] as number) | ((bytes[at + 1] as number) << 8) : ((bytes[at] as number) << 8) | (bytes[at + 1] as number))
  const u32 = (at: number) => (little ? u16(at) + u16(at + 2) * 65536 : u16(at) * 65536 + u16(at + 2))
  const ifd = start + u32(start + 4)
  if (ifd + 2 > end) return 0
  const entries = u16(ifd)
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12
    if (entry + 12 > end) return 0
    if (u16(entry) === 0x0112) return u16(entry + 8)
  }
  return 1
}
