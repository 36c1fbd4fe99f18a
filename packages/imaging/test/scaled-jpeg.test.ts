import type { InputConfig } from '@genimage/shared'
import { resolveZooModel } from '@genimage/shared/zoo'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { texture } from './texture.ts'
import { isPlainJpeg, type ScaledJpegDecoder, scaledJpegDecoder } from '../src/scaled-jpeg.ts'
import { createTransform, ImageDecodeError } from '../src/transform.ts'

/** ResNet-50's eval transform: shorter side to 256, centre 224 crop, ImageNet normalisation. */
const imagenet: InputConfig = resolveZooModel('resnet50').input
const limit = { maxPixels: 40_000_000 }
const native = scaledJpegDecoder()

/** The native decoder with a record of the scales it decoded at. */
function spied(): { decoder: ScaledJpegDecoder; scales: number[] } {
  const scales: number[] = []
  const inner = native.decoder as ScaledJpegDecoder
  return {
    scales,
    decoder: {
      async decode(...args) {
        const image = await inner.decode(...args)
        scales.push(image.scale)
        return image
      },
    },
  }
}

function meanAbsDifference(a: Float32Array, b: Float32Array): number {
  let total = 0
  for (let i = 0; i < a.length; i++) total += Math.abs((a[i] as number) - (b[i] as number))
  return total / a.length
}

describe('native JPEG decoding (libjpeg-turbo with DCT scaling)', () => {
  it('is built by the install and loaded', () => {
    expect(native.decoder, native.reason).toBeDefined()
  })

  it('decodes a 512² JPEG at half scale for a 224 crop of a 256 resize, close to sharp alone', async () => {
    const jpeg = await texture(512, 512).jpeg({ quality: 95 }).toBuffer()
    const levels: InputConfig = { ...imagenet, mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] }
    const spy = spied()
    const fast = await createTransform(levels, { ...limit, jpegDecoder: spy.decoder })(jpeg)
    const reference = await createTransform(levels, { ...limit, jpegDecoder: null })(jpeg)
    expect(spy.scales).toEqual([4])
    expect(fast).toHaveLength(reference.length)
    // In 8-bit levels, on a striped texture where resamplers disagree most: under 2 on average (measured 1.76).
    expect(meanAbsDifference(fast, reference)).toBeLessThan(2)
  })

  it('gives each of many concurrent decodes its own pixels (scratch buffers are reused, never shared)', async () => {
    const jpegs = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) =>
        texture(512 + 64 * i, 512)
          .rotate(90 * (i % 2))
          .jpeg({ quality: 90 })
          .toBuffer(),
      ),
    )
    const transform = createTransform(imagenet, limit)
    const alone: Float32Array[] = []
    for (const jpeg of jpegs) alone.push(await transform(jpeg))
    const together = await Promise.all([...jpegs, ...jpegs, ...jpegs].map((jpeg) => transform(jpeg)))
    for (const [i, tensor] of together.entries()) expect(Array.from(tensor)).toEqual(Array.from(alone[i % jpegs.length] as Float32Array))
  })

  it("writes the tensor into a caller's Float32Array of the right size, and ignores one of another size", async () => {
    const inner = native.decoder as ScaledJpegDecoder
    const jpeg = await texture(512, 512).jpeg({ quality: 90 }).toBuffer()
    const spec = { fit: 1 as const, shorterSide: 256, width: 224, height: 224, lut: new Float32Array(768).map((_, i) => i % 256), nchw: true, bgr: false }
    const fresh = await inner.decode(jpeg, 256, 256, limit.maxPixels, undefined, spec)
    const mine = new Float32Array(3 * 224 * 224).fill(-1)
    const into = await inner.decode(jpeg, 256, 256, limit.maxPixels, undefined, spec, mine)
    expect(into.tensor).toBe(mine)
    expect(Array.from(mine)).toEqual(Array.from(fresh.tensor as Float32Array))
    const wrong = new Float32Array(10).fill(-1)
    const other = await inner.decode(jpeg, 256, 256, limit.maxPixels, undefined, spec, wrong)
    expect(other.tensor).not.toBe(wrong)
    expect(Array.from(other.tensor as Float32Array)).toEqual(Array.from(fresh.tensor as Float32Array))
    expect(Array.from(wrong)).toEqual(new Array(10).fill(-1))
  })

  it('reuses recycled tensors for later images, native and sharp paths alike, with the right values', async () => {
    const jpeg = await texture(512, 512).jpeg({ quality: 90 }).toBuffer()
    const png = await texture(300, 280).png().toBuffer()
    const transform = createTransform(imagenet, limit)
    const reference = { jpeg: Array.from(await createTransform(imagenet, limit)(jpeg)), png: Array.from(await createTransform(imagenet, limit)(png)) }
    const first = await transform(jpeg)
    transform.recycle(first)
    const second = await transform(png)
    expect(second).toBe(first)
    expect(Array.from(second)).toEqual(reference.png)
    transform.recycle(second)
    transform.recycle(second)
    const [third, fourth] = await Promise.all([transform(jpeg), transform(jpeg)])
    expect(third === first || fourth === first).toBe(true)
    expect(third).not.toBe(fourth)
    expect(Array.from(third as Float32Array)).toEqual(reference.jpeg)
    expect(Array.from(fourth as Float32Array)).toEqual(reference.jpeg)
    // A failed decode gives its spare tensor back rather than losing it.
    transform.recycle(third as Float32Array)
    await expect(transform(jpeg.subarray(0, 300))).rejects.toThrow()
    expect(await transform(jpeg)).toBe(third)
    // Arrays the transform did not make in its own size are not taken.
    const foreign = new Float32Array(7)
    transform.recycle(foreign)
    expect(await transform(jpeg)).not.toBe(foreign)
  })

  it('cuts and normalises the tensor natively exactly as cropToTensor does (layouts, BGR, edge repeat)', async () => {
    const inner = native.decoder as ScaledJpegDecoder
    const withoutNativeTensor: ScaledJpegDecoder = { decode: (jpeg, w, h, max, into) => inner.decode(jpeg, w, h, max, into) }
    const cases: Array<[InputConfig, [number, number]]> = [
      [imagenet, [512, 512]],
      [{ ...imagenet, layout: 'NHWC', channelOrder: 'BGR' }, [512, 640]],
      [{ ...imagenet, resize: 'center-crop', height: 101, width: 67 }, [64, 47]],
      [{ ...imagenet, resize: 'stretch', height: 128, width: 96, cropPct: 1 }, [256, 192]],
    ]
    for (const [config, [w, h]] of cases) {
      const jpeg = await texture(w, h).jpeg({ quality: 90 }).toBuffer()
      const nativeTensor = await createTransform(config, { ...limit, jpegDecoder: inner })(jpeg)
      const jsTensor = await createTransform(config, { ...limit, jpegDecoder: withoutNativeTensor })(jpeg)
      expect(nativeTensor).toHaveLength(3 * config.height * config.width)
      expect(Array.from(nativeTensor)).toEqual(Array.from(jsTensor))
    }
  })

  it('resizes what DCT scaling leaves over (600×400 → 300×200 → shorter side 256)', async () => {
    const jpeg = await texture(600, 400).jpeg({ quality: 90 }).toBuffer()
    const spy = spied()
    const fast = await createTransform(imagenet, { ...limit, jpegDecoder: spy.decoder })(jpeg)
    const reference = await createTransform(imagenet, { ...limit, jpegDecoder: null })(jpeg)
    expect(spy.scales).toEqual([6])
    expect(meanAbsDifference(fast, reference)).toBeLessThan(0.05)
  })

  it('matches sharp to within one level when no resizing is needed (center-crop)', async () => {
    const jpeg = await texture(160, 128).jpeg({ quality: 95 }).toBuffer()
    const config: InputConfig = { ...imagenet, height: 128, width: 128, resize: 'center-crop', mean: [0, 0, 0], std: [1, 1, 1] }
    const spy = spied()
    const fast = await createTransform(config, { ...limit, jpegDecoder: spy.decoder })(jpeg)
    const reference = await createTransform(config, { ...limit, jpegDecoder: null })(jpeg)
    expect(spy.scales).toEqual([8])
    const worst = fast.reduce((m, v, i) => Math.max(m, Math.abs(v - (reference[i] as number))), 0)
    expect(worst).toBeLessThanOrEqual(1 / 255 + 1e-6)
  })

  it('leaves rotated (EXIF) and ICC-tagged JPEGs to sharp, which applies them', async () => {
    const upright = await texture(64, 32).jpeg({ quality: 95 }).toBuffer()
    const rotated = await sharp(upright).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer()
    const tagged = await sharp(upright).withIccProfile('p3').jpeg({ quality: 95 }).toBuffer()
    expect(isPlainJpeg(upright)).toBe(true)
    expect(isPlainJpeg(rotated)).toBe(false)
    expect(isPlainJpeg(tagged)).toBe(false)
    const spy = spied()
    const config: InputConfig = { ...imagenet, height: 64, width: 32, resize: 'stretch', cropPct: 1 }
    const tensor = await createTransform(config, { ...limit, jpegDecoder: spy.decoder })(rotated)
    expect(spy.scales).toEqual([])
    expect(tensor).toHaveLength(3 * 64 * 32)
  })

  it('refuses a header over the pixel limit as image_too_large and leaves damaged JPEGs to sharp', async () => {
    const jpeg = await texture(512, 512).jpeg({ quality: 95 }).toBuffer()
    const tooLarge = await createTransform(imagenet, { maxPixels: 100_000 })(jpeg).catch((e: unknown) => e)
    expect(tooLarge).toBeInstanceOf(ImageDecodeError)
    expect((tooLarge as ImageDecodeError).code).toBe('image_too_large')
    const truncated = await createTransform(imagenet, limit)(jpeg.subarray(0, jpeg.length / 3)).catch((e: unknown) => e)
    expect((truncated as ImageDecodeError).code).toBe('corrupt_image')
  })
})
