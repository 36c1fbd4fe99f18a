/** The eight bytes every PNG starts with. */
export const PNG_SIGNATURE: readonly number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

/** True when the bytes start with the PNG signature. */
export function isPngSignature(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((value, i) => bytes[i] === value)
}

const u16be = (bytes: Uint8Array, at: number) => ((bytes[at] as number) << 8) | (bytes[at + 1] as number)
const u32be = (bytes: Uint8Array, at: number) => u16be(bytes, at) * 65536 + u16be(bytes, at + 2)

/** Width and height from a PNG's IHDR chunk; undefined when the bytes are not a PNG or are too short. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 24 || !isPngSignature(bytes) || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return undefined
  return { width: u32be(bytes, 16), height: u32be(bytes, 20) }
}

/** True when the bytes start like a JPEG: start-of-image, then a marker. */
export function isJpegSignature(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff
}

/** One marker segment of a JPEG header. */
export interface JpegSegment {
  /** The marker's second byte: 0xdb DQT, 0xc0…0xcf SOFn (but DHT, JPG, DAC), 0xe0…0xef APPn, 0xda SOS, 0xd9 EOI. */
  marker: number
  /** Offset of the payload, after the two length bytes. */
  payload: number
  /** Offset just after the segment. */
  end: number
}

/**
 * The marker segments of a JPEG, in order, up to and including start-of-scan (SOS) or end-of-image (EOI), after
 * which nothing is read. Stops early, without SOS, on bytes that break the structure or end too soon.
 */
export function* jpegSegments(bytes: Uint8Array): Generator<JpegSegment> {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return
  let at = 2
  while (at + 2 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1] as number
    if (marker === 0xff) {
      at += 1 // fill byte
      continue
    }
    if (marker === 0xd9) {
      yield { marker, payload: at + 2, end: at + 2 }
      return
    }
    if (at + 4 > bytes.length) return
    const end = at + 2 + u16be(bytes, at + 2)
    yield { marker, payload: at + 4, end }
    if (marker === 0xda) return
    at = end
  }
}

/** True for the start-of-frame markers (SOF0…SOF15 but DHT 0xc4, JPG 0xc8 and DAC 0xcc), which hold the image size. */
export function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
}

/** Width and height from a JPEG's start-of-frame segment; undefined when there is none before the scan. */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  for (const segment of jpegSegments(bytes)) {
    if (!isStartOfFrame(segment.marker)) continue
    if (segment.payload + 5 > bytes.length) return undefined
    return { height: u16be(bytes, segment.payload + 1), width: u16be(bytes, segment.payload + 3) }
  }
  return undefined
}
