import { squareInputConfig, type InputConfig } from '@genimage/shared'
import sharp, { type Sharp } from 'sharp'
import { describe, expect, it } from 'vitest'
import { createTransform, ImageDecodeError } from '../src/transform.ts'

const base: InputConfig = squareInputConfig(8)
const limit = { maxPixels: 40_000_000 }
const solid = (w: number, h: number, rgb: [number, number, number]) =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })

/** A w×h image whose left half is black and right half white. */
async function halves(w: number, h: number): Promise<Sharp> {
  const pixels = Buffer.alloc(w * h * 3)
  for (let y = 0; y < h; y++) for (let x = w / 2; x < w; x++) pixels.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3)
  return sharp(pixels, { raw: { width: w, height: h, channels: 3 } })
}

describe('createTransform', () => {
  it('normalises each channel with the config mean/std in NCHW order', async () => {
    const png = await solid(20, 10, [255, 0, 51]).png().toBuffer()
    const t = await createTransform({ ...base, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 0.2] }, limit)(png)
    expect(t).toHaveLength(3 * 64)
    expect(t[0]).toBeCloseTo(1, 5)
    expect(t[64]).toBeCloseTo(-1, 5)
    expect(t[128]).toBeCloseTo(1, 5)
  })

  it('lays out NHWC with BGR order when asked', async () => {
    const png = await solid(8, 8, [255, 0, 0]).png().toBuffer()
    const t = await createTransform({ ...base, layout: 'NHWC', channelOrder: 'BGR' }, limit)(png)
    expect(Array.from(t.subarray(0, 6))).toEqual([-1, -1, 1, -1, -1, 1])
  })

  it('resizes the shorter side then crops the centre (timm eval transform)', async () => {
    const jpeg = await (await halves(64, 32)).png().toBuffer()
    const t = await createTransform({ ...base, resize: 'shorter-side-center-crop', interpolation: 'nearest' }, limit)(jpeg)
    const row = Array.from(t.subarray(0, 8))
    expect(row.slice(0, 4)).toEqual([-1, -1, -1, -1])
    expect(row.slice(4)).toEqual([1, 1, 1, 1])
  })

  it('center-crop pads images smaller than the input by repeating edge pixels', async () => {
    const png = await (await halves(4, 4)).png().toBuffer()
    const t = await createTransform({ ...base, resize: 'center-crop' }, limit)(png)
    expect(Array.from(t.subarray(0, 8))).toEqual([-1, -1, -1, -1, 1, 1, 1, 1])
  })

  it('applies EXIF orientation before resizing', async () => {
    const upright = await (await halves(16, 8)).jpeg({ quality: 100 }).toBuffer()
    const tagged = await sharp(upright).withMetadata({ orientation: 6 }).jpeg({ quality: 100 }).toBuffer()
    const t = await createTransform({ ...base, height: 16, width: 8, interpolation: 'nearest' }, limit)(tagged)
    const column = Array.from({ length: 16 }, (_, y) => Math.round(t[y * 8] as number))
    expect(column.slice(0, 6)).toEqual([-1, -1, -1, -1, -1, -1])
    expect(column.slice(10)).toEqual([1, 1, 1, 1, 1, 1])
  })

  it('refuses a header claiming more pixels than the limit before decoding, fast', async () => {
    const png = await solid(8, 8, [0, 0, 0]).png().toBuffer()
    png.writeUInt32BE(100_000, 16)
    png.writeUInt32BE(100_000, 20)
    const started = performance.now()
    const error = await createTransform(base, limit)(png).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ImageDecodeError)
    expect((error as ImageDecodeError).code).toBe('image_too_large')
    expect(performance.now() - started).toBeLessThan(500)
  })

  it('calls a truncated JPEG corrupt_image and random bytes unsupported_media_type', async () => {
    const jpeg = await solid(64, 64, [10, 200, 30]).jpeg().toBuffer()
    const truncated = await createTransform(base, limit)(jpeg.subarray(0, jpeg.length / 2)).catch((e: unknown) => e)
    expect((truncated as ImageDecodeError).code).toBe('corrupt_image')
    const noise = await createTransform(base, limit)(Uint8Array.from({ length: 200 }, (_, i) => (i * 37) % 251)).catch((e: unknown) => e)
    expect((noise as ImageDecodeError).code).toBe('unsupported_media_type')
  })

  it('decodes WebP, GIF (first frame), AVIF and TIFF', async () => {
    const image = solid(12, 12, [255, 255, 255])
    const t = createTransform(base, limit)
    for (const encoded of [
      await image.clone().webp().toBuffer(),
      await image.clone().gif().toBuffer(),
      await image.clone().avif().toBuffer(),
      await image.clone().tiff().toBuffer(),
    ]) {
      const tensor = await t(encoded)
      expect(tensor[0]).toBeCloseTo(1, 1)
    }
  })
})
