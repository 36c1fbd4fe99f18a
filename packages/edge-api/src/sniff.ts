import { jpegSize } from '@genimage/shared/genimage'

/** Image formats the detect path accepts, identified by their magic bytes. */
export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'avif' | 'tiff'

export interface SniffedImage {
  format: ImageFormat
  /** Dimensions read from the header when the format makes that cheap; undefined otherwise. */
  width?: number
  height?: number
}

/** Identifies an image by its leading bytes (never by the declared MIME type) and reads its size where cheap. */
export function sniffImage(bytes: Uint8Array): SniffedImage | undefined {
  const at = (offset: number, ...values: number[]) => values.every((v, i) => bytes[offset + i] === v)
  const ascii = (offset: number, text: string) => at(offset, ...[...text].map((ch) => ch.charCodeAt(0)))
  if (at(0, 0xff, 0xd8, 0xff)) return { format: 'jpeg', ...jpegSize(bytes) }
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) {
    return bytes.length >= 24 && ascii(12, 'IHDR') ? { format: 'png', width: u32be(bytes, 16), height: u32be(bytes, 20) } : { format: 'png' }
  }
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) {
    return bytes.length >= 10 ? { format: 'gif', width: u16le(bytes, 6), height: u16le(bytes, 8) } : { format: 'gif' }
  }
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return { format: 'webp', ...webpSize(bytes) }
  if (ascii(4, 'ftyp') && isAvifBrand(bytes)) return { format: 'avif', ...avifSize(bytes) }
  if (at(0, 0x49, 0x49, 0x2a, 0x00)) return { format: 'tiff', ...tiffSize(bytes, true) }
  if (at(0, 0x4d, 0x4d, 0x00, 0x2a)) return { format: 'tiff', ...tiffSize(bytes, false) }
  return undefined
}

function u16le(b: Uint8Array, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8)
}
function u16be(b: Uint8Array, o: number): number {
  return ((b[o] as number) << 8) | (b[o + 1] as number)
}
function u32le(b: Uint8Array, o: number): number {
  return ((b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16) | ((b[o + 3] as number) << 24)) >>> 0
}
function u32be(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) >>> 0) + ((b[o + 1] as number) << 16) + ((b[o + 2] as number) << 8) + (b[o + 3] as number)
}

function webpSize(b: Uint8Array): { width?: number; height?: number } {
  const chunk = String.fromCharCode(...b.subarray(12, 16))
  if (chunk === 'VP8X' && b.length >= 30) {
    return {
      width: 1 + ((b[24] as number) | ((b[25] as number) << 8) | ((b[26] as number) << 16)),
      height: 1 + ((b[27] as number) | ((b[28] as number) << 8) | ((b[29] as number) << 16)),
    }
  }
  if (chunk === 'VP8L' && b.length >= 25) {
    const bits = (b[21] as number) | ((b[22] as number) << 8) | ((b[23] as number) << 16) | ((b[24] as number) << 24)
    return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >>> 14) & 0x3fff) }
  }
  if (chunk === 'VP8 ' && b.length >= 30) return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff }
  return {}
}

const fourcc = (b: Uint8Array, o: number) => String.fromCharCode(...b.subarray(o, o + 4))

/** The ftyp box names `avif`/`avis` as its major brand or among its compatible brands. */
function isAvifBrand(b: Uint8Array): boolean {
  const boxEnd = Math.min(b.length, u32be(b, 0))
  if (['avif', 'avis'].includes(fourcc(b, 8))) return true
  for (let o = 16; o + 4 <= boxEnd; o += 4) if (['avif', 'avis'].includes(fourcc(b, o))) return true
  return false
}

/**
 * The largest `ispe` (image spatial extent) property in the first 64 KiB: AVIF stores each item's
 * width and height there, so a header bomb shows up before any decoding.
 */
function avifSize(b: Uint8Array): { width?: number; height?: number } {
  let best: { width: number; height: number } | undefined
  const end = Math.min(b.length, 65_536) - 16
  for (let o = 4; o <= end; o++) {
    if (b[o] !== 0x69 || fourcc(b, o) !== 'ispe' || u32be(b, o - 4) !== 20) continue
    const width = u32be(b, o + 8)
    const height = u32be(b, o + 12)
    if (!best || width * height > best.width * best.height) best = { width, height }
  }
  return best ?? {}
}

/** ImageWidth (256) and ImageLength (257) from the first IFD of a TIFF, in either byte order. */
function tiffSize(b: Uint8Array, little: boolean): { width?: number; height?: number } {
  const u16 = (o: number) => (little ? u16le(b, o) : u16be(b, o))
  const u32 = (o: number) => (little ? u32le(b, o) : u32be(b, o))
  const ifd = u32(4)
  if (ifd + 2 > b.length) return {}
  const entries = u16(ifd)
  const size: { width?: number; height?: number } = {}
  for (let i = 0; i < entries; i++) {
    const e = ifd + 2 + i * 12
    if (e + 12 > b.length) break
    const tag = u16(e)
    if (tag !== 256 && tag !== 257) continue
    const type = u16(e + 2)
    const value = type === 3 ? u16(e + 8) : type === 4 ? u32(e + 8) : undefined
    if (value === undefined) continue
    if (tag === 256) size.width = value
    else size.height = value
  }
  return size
}
