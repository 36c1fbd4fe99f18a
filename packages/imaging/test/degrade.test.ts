import { parseDegradation, TABLE5_DEGRADATIONS } from '@genimage/shared/genimage'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { changesImage, degradedExtension, degradeImage, estimateJpegQuality } from '../src/index.ts'
import { craftPng, pictureLikePixels } from './png-craft.ts'

const png = (width: number, height: number) => craftPng(pictureLikePixels(width, height, 3), width, height, 3)
const jpeg = (width: number, height: number, quality = 96) =>
  sharp(pictureLikePixels(width, height, 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer()

/** Mean absolute difference between horizontally neighbouring samples: what a blur takes away. */
async function roughness(encoded: Buffer): Promise<number> {
  const { data, info } = await sharp(encoded).raw().toBuffer({ resolveWithObject: true })
  let sum = 0
  for (let i = info.channels; i < data.length; i++) sum += Math.abs(data[i]! - data[i - info.channels]!)
  return sum / data.length
}

describe('degradeImage', () => {
  it('returns the input unchanged for none (the Table 5 baseline) and no steps', async () => {
    const source = png(40, 30)
    expect((await degradeImage(source, parseDegradation('none'))).equals(source)).toBe(true)
    expect((await degradeImage(new Uint8Array(source), {})).equals(source)).toBe(true)
    expect(changesImage(parseDegradation('none'))).toBe(false)
    expect(TABLE5_DEGRADATIONS.filter((id) => changesImage(parseDegradation(id)))).toHaveLength(6)
  })

  it('downscales the shorter side (aspect kept, never enlarged) into a lossless PNG, also for JPEG sources', async () => {
    const cases = [
      [png(500, 375), 'downscale-112', 149, 112],
      [await jpeg(333, 500), 'downscale-64', 64, 96],
      [png(100, 77), 'downscale-112', 100, 77],
    ] as const
    for (const [source, id, width, height] of cases) {
      const output = await degradeImage(source, parseDegradation(id))
      expect(await sharp(output).metadata(), id).toMatchObject({ format: 'png', width, height })
    }
    const small = png(100, 77)
    const kept = await sharp(await degradeImage(small, parseDegradation('downscale-112')))
      .raw()
      .toBuffer()
    expect(kept.equals(await sharp(small).raw().toBuffer())).toBe(true)
  })

  it('resamples bilinearly unless told otherwise, and records the kernel as a choice', async () => {
    const source = png(256, 256)
    const byDefault = await degradeImage(source, parseDegradation('downscale-64'))
    expect(byDefault.equals(await degradeImage(source, { downscale: 64 }, { interpolation: 'bilinear' }))).toBe(true)
    expect(byDefault.equals(await degradeImage(source, { downscale: 64 }, { interpolation: 'bicubic' }))).toBe(false)
    expect(byDefault.equals(await degradeImage(source, { downscale: 64 }, { interpolation: 'nearest' }))).toBe(false)
  })

  it('encodes JPEG at the quality asked whatever the source, and blurs visibly into PNG', async () => {
    const jpegged = await degradeImage(await jpeg(64, 48), parseDegradation('jpeg-30'))
    expect(estimateJpegQuality(jpegged)).toEqual({ quality: 30, exact: true })
    const source = png(96, 64)
    const blurred = await degradeImage(source, parseDegradation('blur-3'))
    expect((await sharp(blurred).metadata()).format).toBe('png')
    expect(await roughness(blurred)).toBeLessThan((await roughness(source)) * 0.6)
    expect(blurred.equals(await degradeImage(source, { blur: 3 }))).toBe(true)
  })

  it('combines steps in the order downscale → blur → JPEG', async () => {
    const source = png(200, 100)
    const combined = await degradeImage(source, { downscale: 50, blur: 1, jpeg: 65 })
    expect(await sharp(combined).metadata()).toMatchObject({ format: 'jpeg', width: 100, height: 50 })
    const stepwise = await degradeImage(await degradeImage(await degradeImage(source, { downscale: 50 }), { blur: 1 }), { jpeg: 65 })
    expect(combined.equals(stepwise)).toBe(true)
  })

  it('decodes as the model transform does: EXIF orientation applied, alpha dropped', async () => {
    const rotated = await sharp(await jpeg(64, 32))
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 95 })
      .toBuffer()
    expect(await sharp(await degradeImage(rotated, { blur: 1 })).metadata()).toMatchObject({ width: 32, height: 64 })
    const withAlpha = await sharp(pictureLikePixels(40, 30, 3), { raw: { width: 40, height: 30, channels: 3 } })
      .ensureAlpha(0.5)
      .png()
      .toBuffer()
    expect(await sharp(await degradeImage(withAlpha, parseDegradation('downscale-112'))).metadata()).toMatchObject({ channels: 3, hasAlpha: false })
  })

  it('names degraded files by what they hold', () => {
    expect(degradedExtension(parseDegradation('jpeg-65'))).toBe('.jpg')
    expect(degradedExtension({ downscale: 64, jpeg: 30 })).toBe('.jpg')
    expect(degradedExtension(parseDegradation('blur-5'))).toBe('.png')
    expect(degradedExtension({ downscale: 112 })).toBe('.png')
  })
})
