import { readFileSync } from 'node:fs'
import { InputConfig, ModelCard, type ModelEvidence, squareInputConfig } from '@genimage/shared'
import sharp, { type Sharp } from 'sharp'
import { describe, expect, it } from 'vitest'
import { texture } from './texture.ts'
import { createTileTransform, planTiles } from '../src/evidence-tiles.ts'
import { type ScaledJpegDecoder, scaledJpegDecoder } from '../src/scaled-jpeg.ts'
import { ImageDecodeError } from '../src/transform.ts'

const limit = { maxPixels: 40_000_000 }
const tiles64: ModelEvidence = { mode: 'tiles', crop: 64, maxTiles: 16, aggregate: { rule: 'max' }, downscale: 'never' }
/** 64-px input in [0, 1] (mean 0, std 1), so a tensor value × 255 is the pixel's 8-bit level. */
const unit: InputConfig = squareInputConfig(64, { mean: [0, 0, 0], std: [1, 1, 1], resize: 'center-crop', evidence: tiles64 })
const native = scaledJpegDecoder()

/** Pixels that differ everywhere (any resampling or misplaced cut changes them), and the same as an image. */
function noise(width: number, height: number): { pixels: Uint8Array; image: Sharp } {
  const pixels = new Uint8Array(width * height * 3)
  let state = 12345
  for (let i = 0; i < pixels.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0
    pixels[i] = state >>> 24
  }
  return { pixels, image: sharp(pixels, { raw: { width, height, channels: 3 } }) }
}

describe('evidence in the model card', () => {
  it('keeps cards without evidence as they were and fills the defaults of a tiles entry', () => {
    const shipped = ModelCard.parse(JSON.parse(readFileSync(new URL('../../../models/npr-tiny-mini/card.json', import.meta.url), 'utf8')))
    // The shipped detectors read 64-px native tiles, centre + grid, at most 16, answering with the mean of all of them.
    expect(shipped.input.evidence).toEqual({ mode: 'tiles', crop: 64, maxTiles: 16, aggregate: { rule: 'mean-top-k', k: 16 }, downscale: 'never' })
    const { evidence: _, ...withoutEvidence } = shipped.input
    expect(InputConfig.parse(withoutEvidence).evidence).toBeUndefined()
    const input = InputConfig.parse({ ...withoutEvidence, evidence: { mode: 'tiles', crop: 64, aggregate: { rule: 'mean-top-k', k: 3 } } })
    expect(input.evidence).toEqual({ mode: 'tiles', crop: 64, maxTiles: 16, aggregate: { rule: 'mean-top-k', k: 3 }, downscale: 'never' })
    expect(() => InputConfig.parse({ ...shipped.input, evidence: { mode: 'tiles', crop: 64, aggregate: { rule: 'mean-top-k' } } })).toThrow()
  })
})

describe('planTiles', () => {
  it('puts the centre crop first, then a grid from edge to edge (a 128-px image: the four corners)', () => {
    expect(planTiles(128, 128, tiles64)).toEqual([
      { left: 32, top: 32, side: 64 },
      { left: 0, top: 0, side: 64 },
      { left: 64, top: 0, side: 64 },
      { left: 0, top: 64, side: 64 },
      { left: 64, top: 64, side: 64 },
    ])
  })

  it('bounds a 4000×3000 photo by maxTiles and the pixel budget, with tiles inside the image, the same every time', () => {
    const tiles = planTiles(4000, 3000, tiles64)
    // 5 × 3 grid whose middle tile is the centre crop: 15 tiles (16 would need 4 × 4 + centre = 17)
    expect(tiles).toHaveLength(15)
    expect([...new Set(tiles.map((t) => t.left))].sort((a, b) => a - b)).toEqual([0, 984, 1968, 2952, 3936])
    expect([...new Set(tiles.map((t) => t.top))].sort((a, b) => a - b)).toEqual([0, 1468, 2936])
    for (const t of tiles) expect(t.left >= 0 && t.top >= 0 && t.left + 64 <= 4000 && t.top + 64 <= 3000).toBe(true)
    expect(planTiles(4000, 3000, tiles64)).toEqual(tiles)
    expect(planTiles(4000, 3000, { ...tiles64, pixelBudget: 4 * 64 * 64 })).toHaveLength(3)
    expect(planTiles(4000, 3000, { ...tiles64, maxTiles: 1 })).toEqual([{ left: 1968, top: 1468, side: 64 }])
  })

  it('gives an image smaller than a tile one centred tile (edges repeat)', () => {
    expect(planTiles(40, 30, tiles64)).toEqual([{ left: -12, top: -17, side: 64 }])
  })
})

describe('createTileTransform', () => {
  it('cuts tiles pixel for pixel out of the full-size image: no resampling', async () => {
    const { pixels, image } = noise(300, 200)
    const tensors = await createTileTransform(unit, { ...limit, jpegDecoder: null })(await image.png().toBuffer())
    const plan = planTiles(300, 200, tiles64)
    expect(tensors).toHaveLength(plan.length)
    for (const [i, tile] of plan.entries()) {
      const tensor = tensors[i] as Float32Array
      for (const [x, y] of [
        [0, 0],
        [63, 0],
        [17, 41],
        [63, 63],
      ] as const) {
        const source = ((tile.top + y) * 300 + tile.left + x) * 3
        for (let c = 0; c < 3; c++) expect(Math.round((tensor[c * 4096 + y * 64 + x] as number) * 255)).toBe(pixels[source + c])
      }
    }
  })

  it('gives the same tiles through the native decoder (DCT scale 8/8) as through sharp, within one level', async () => {
    if (!native.decoder) throw new Error(`native JPEG decoder not in use: ${native.reason}`)
    const jpeg = await texture(1000, 700).jpeg({ quality: 95 }).toBuffer()
    const scales: number[] = []
    const inner = native.decoder
    const spy: ScaledJpegDecoder = {
      async decode(...args) {
        const decoded = await inner.decode(...args)
        scales.push(decoded.scale)
        return decoded
      },
    }
    for (const config of [unit, { ...unit, layout: 'NHWC' as const, channelOrder: 'BGR' as const }]) {
      const fast = await createTileTransform(config, { ...limit, jpegDecoder: spy })(jpeg)
      const reference = await createTileTransform(config, { ...limit, jpegDecoder: null })(jpeg)
      expect(fast).toHaveLength(planTiles(1000, 700, tiles64).length)
      expect(fast).toHaveLength(reference.length)
      for (const [i, tile] of fast.entries()) {
        const worst = tile.reduce((m, v, j) => Math.max(m, Math.abs(v - ((reference[i] as Float32Array)[j] as number))), 0)
        expect(worst).toBeLessThanOrEqual(1 / 255 + 1e-6)
      }
    }
    expect(scales).toEqual([8, 8])
  })

  it('resizes each tile (never the whole image) when the card says tile-to-input', async () => {
    const { image } = noise(600, 400)
    const png = await image.png().toBuffer()
    const evidence: ModelEvidence = { ...tiles64, crop: 256, maxTiles: 3, downscale: 'tile-to-input' }
    const config = { ...unit, interpolation: 'nearest' as const, evidence }
    const tensors = await createTileTransform(config, { ...limit, jpegDecoder: null })(png)
    const [centre] = planTiles(600, 400, evidence)
    expect(tensors).toHaveLength(3)
    const expected = await sharp(png)
      .extract({ left: centre!.left, top: centre!.top, width: 256, height: 256 })
      .resize(64, 64, { kernel: 'nearest', fit: 'fill' })
      .raw()
      .toBuffer()
    const first = tensors[0] as Float32Array
    for (let i = 0; i < 64 * 64; i++) expect(Math.round((first[i] as number) * 255)).toBe(expected[i * 3])
  })

  it('refuses evidence that cannot serve the input size, and oversized images before decoding', async () => {
    expect(() => createTileTransform({ ...unit, evidence: { ...tiles64, crop: 128 } }, limit)).toThrow(/must equal the input size/)
    expect(() => createTileTransform({ ...unit, evidence: undefined }, limit)).toThrow(/no evidence/)
    const jpeg = await texture(300, 300).jpeg().toBuffer()
    const small = { maxPixels: 10_000 }
    for (const jpegDecoder of [undefined, null]) {
      const error = await createTileTransform(unit, { ...small, jpegDecoder })(jpeg).catch((e: unknown) => e)
      expect((error as ImageDecodeError).code).toBe('image_too_large')
    }
    const broken = await createTileTransform(unit, limit)(jpeg.subarray(0, 400)).catch((e: unknown) => e)
    expect(broken).toBeInstanceOf(ImageDecodeError)
  })
})
