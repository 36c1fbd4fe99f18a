import { jpegSegments } from '@genimage/shared/genimage'

/** IJG (Annex K) luminance quantisation table, natural (row-major) order. */
const STANDARD_LUMINANCE = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103,
  77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
]

/** IJG (Annex K) chrominance quantisation table, natural order: four rows given, the last four all 99. */
const STANDARD_CHROMINANCE = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
].concat(new Array<number>(32).fill(99))

/** Natural index of each zigzag position: DQT segments store coefficients in zigzag order. */
const ZIGZAG_TO_NATURAL: number[] = (() => {
  const order: number[] = []
  for (let diagonal = 0; diagonal < 15; diagonal++) {
    const cells: number[] = []
    for (let row = 0; row < 8; row++) {
      const col = diagonal - row
      if (col >= 0 && col < 8) cells.push(row * 8 + col)
    }
    // Even diagonals run bottom-left to top-right, odd ones top-right to bottom-left.
    order.push(...(diagonal % 2 === 0 ? cells.reverse() : cells))
  }
  return order
})()

/** The IJG table for `quality` (1–100), baseline-clamped to 1…255, natural order. */
export function scaledStandardTable(quality: number, chrominance = false): number[] {
  const scale = quality < 50 ? Math.floor(5000 / quality) : 200 - quality * 2
  const base = chrominance ? STANDARD_CHROMINANCE : STANDARD_LUMINANCE
  return base.map((value) => Math.min(255, Math.max(1, Math.floor((value * scale + 50) / 100))))
}

/** Quantisation tables of a JPEG by table id, natural order; empty when the buffer is not a JPEG. */
export function readQuantisationTables(jpeg: Uint8Array): Map<number, number[]> {
  const tables = new Map<number, number[]>()
  for (const segment of jpegSegments(jpeg)) {
    if (segment.marker !== 0xdb) continue
    let cursor = segment.payload
    while (cursor < segment.end && cursor < jpeg.length) {
      const precision = jpeg[cursor]! >> 4
      const id = jpeg[cursor]! & 0x0f
      cursor++
      const table = new Array<number>(64)
      for (let zigzag = 0; zigzag < 64; zigzag++) {
        const value = precision ? (jpeg[cursor]! << 8) | jpeg[cursor + 1]! : jpeg[cursor]!
        cursor += precision ? 2 : 1
        table[ZIGZAG_TO_NATURAL[zigzag]!] = value
      }
      tables.set(id, table)
    }
  }
  return tables
}

function tableDistance(a: readonly number[], b: readonly number[]): number {
  let distance = 0
  for (let i = 0; i < 64; i++) distance += Math.abs(a[i]! - b[i]!)
  return distance
}

/** The estimate `estimateJpegQuality` returns: the IJG quality and whether the tables matched it exactly. */
export interface JpegQualityEstimate {
  quality: number
  exact: boolean
}

/**
 * Estimates the IJG quality (1–100) a JPEG was saved at by comparing its quantisation tables with the
 * standard tables scaled to every quality. Encoders with their own tables get the closest quality.
 * @example estimateJpegQuality(await sharp(input).jpeg({ quality: 80 }).toBuffer()) // { quality: 80, exact: true }
 */
export function estimateJpegQuality(jpeg: Uint8Array): JpegQualityEstimate | undefined {
  const tables = readQuantisationTables(jpeg)
  const luminance = tables.get(0)
  if (!luminance) return undefined
  const chrominance = tables.get(1)
  let best: JpegQualityEstimate & { distance: number } = { quality: 0, exact: false, distance: Infinity }
  for (let quality = 1; quality <= 100; quality++) {
    let distance = tableDistance(luminance, scaledStandardTable(quality))
    if (chrominance) distance += tableDistance(chrominance, scaledStandardTable(quality, true))
    if (distance < best.distance) best = { quality, exact: distance === 0, distance }
  }
  return { quality: best.quality, exact: best.exact }
}
