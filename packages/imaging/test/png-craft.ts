import { deflateSync } from 'node:zlib'

/** A chunk to add before IDAT, e.g. `{ type: 'gAMA', data: Buffer.from([0, 1, 0x86, 0xa0]) }`. */
export interface ExtraChunk {
  type: string
  data: Uint8Array
}

export interface CraftOptions {
  /** PNG filter type (0–4) for each row; default type `y % 5`, so every filter appears. */
  filterOf?: (y: number) => number
  extraChunks?: ExtraChunk[]
  /** Split the zlib stream over IDAT chunks of at most this many bytes. */
  idatSize?: number
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** One PNG chunk: length, type, data, CRC. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  typed.copy(out, 4)
  out.writeUInt32BE(crc32(typed), 8 + data.length)
  return out
}

function paeth(a: number, b: number, c: number): number {
  const pa = Math.abs(b - c)
  const pb = Math.abs(a - c)
  const pc = Math.abs(a + b - 2 * c)
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}

/** Filters one row of 8-bit samples with the given PNG filter type (`bpp` bytes per pixel). */
function filterRow(row: Uint8Array, above: Uint8Array | undefined, type: number, bpp: number): Buffer {
  const out = Buffer.alloc(row.length + 1)
  out[0] = type
  for (let i = 0; i < row.length; i++) {
    const left = i >= bpp ? row[i - bpp]! : 0
    const up = above ? above[i]! : 0
    const upLeft = above && i >= bpp ? above[i - bpp]! : 0
    const predictor = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][type]!
    out[i + 1] = (row[i]! - predictor) & 0xff
  }
  return out
}

/** An 8-bit non-interlaced grey (1 channel) or RGB (3 channels) PNG with the row filters chosen by the caller. */
export function craftPng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3, options: CraftOptions = {}): Buffer {
  const filterOf = options.filterOf ?? ((y: number) => y % 5)
  const stride = width * channels
  const rows: Buffer[] = []
  for (let y = 0; y < height; y++) {
    const row = pixels.subarray(y * stride, (y + 1) * stride)
    const above = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : undefined
    rows.push(filterRow(row, above, filterOf(y), channels))
  }
  const stream = deflateSync(Buffer.concat(rows))
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header[8] = 8
  header[9] = channels === 3 ? 2 : 0
  const idatSize = options.idatSize ?? stream.length
  const idats: Buffer[] = []
  for (let at = 0; at < stream.length; at += idatSize) idats.push(pngChunk('IDAT', stream.subarray(at, at + idatSize)))
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    ...(options.extraChunks ?? []).map((chunk) => pngChunk(chunk.type, chunk.data)),
    ...idats,
    pngChunk('IEND', new Uint8Array(0)),
  ])
}

/** Smooth gradients with stripes and a little texture: compresses and filters like a real picture, not like noise. */
export function pictureLikePixels(width: number, height: number, channels: 1 | 3): Buffer {
  const pixels = Buffer.alloc(width * height * channels)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const stripe = Math.floor(x / 11 + y / 17) % 2 ? 40 : 0
      const texture = (Math.sin(x * 0.9) + Math.cos(y * 1.3)) * 6
      for (let c = 0; c < channels; c++) {
        const ramp = c === 0 ? (x * 255) / width : c === 1 ? (y * 255) / height : ((x + y) * 127) / (width + height)
        pixels[(y * width + x) * channels + c] = Math.max(0, Math.min(255, Math.round(ramp * 0.8 + stripe + texture + 10)))
      }
    }
  }
  return pixels
}
