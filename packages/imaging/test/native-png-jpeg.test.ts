import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { degradeImage, type EncoderRoute, estimateJpegQuality, MAX_DECODE_PIXELS, nativePngJpeg } from '../src/index.ts'
import { craftPng, pictureLikePixels, pngChunk } from './png-craft.ts'

/** The sharp pipeline `degradeImage` documents for a JPEG step, written out on its own as the reference. */
function sharpJpeg(png: Buffer, quality: number): Promise<Buffer> {
  return sharp(png, { limitInputPixels: MAX_DECODE_PIXELS, failOn: 'truncated' })
    .rotate()
    .removeAlpha()
    .jpeg({ quality, chromaSubsampling: '4:2:0', optimiseCoding: false })
    .toBuffer()
}

async function routeOf(png: Buffer, quality = 65): Promise<{ route: EncoderRoute | undefined; output: Buffer }> {
  let route: EncoderRoute | undefined
  const output = await degradeImage(png, { jpeg: quality }, { onRoute: (r) => (route = r) })
  return { route, output }
}

/** An EXIF block (big-endian TIFF) whose IFD0 holds only the orientation tag. */
function exifWithOrientation(orientation: number): Buffer {
  return Buffer.from([0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, 0, 0, 0, 0])
}

const native = nativePngJpeg({}).addon

describe('native PNG → JPEG path', () => {
  it('is built and loaded (npm run build:native)', () => {
    expect(nativePngJpeg({}).reason).toMatch(/libdeflate .* \+ libjpeg/)
    expect(native).toBeDefined()
    expect(nativePngJpeg({ GENIMAGE_PNG_JPEG: 'sharp' }).addon).toBeUndefined()
  })

  it('re-encodes RGB PNGs of any size at q65 and q30 with exactly the bytes sharp writes', async () => {
    const sizes = [
      [300, 200],
      [301, 203],
      [64, 48],
      [17, 9],
    ] as const
    const adaptive = await sharp(pictureLikePixels(320, 240, 3), { raw: { width: 320, height: 240, channels: 3 } })
      .png({ adaptiveFiltering: true })
      .toBuffer()
    const pngs = [adaptive, ...sizes.map(([width, height]) => craftPng(pictureLikePixels(width, height, 3), width, height, 3))]
    for (const png of pngs) {
      for (const quality of [65, 30]) {
        const { route, output } = await routeOf(png, quality)
        expect(route).toEqual({ encoder: 'native' })
        expect(estimateJpegQuality(output)).toEqual({ quality, exact: true })
        expect(await sharp(output).metadata()).toMatchObject({ format: 'jpeg', chromaSubsampling: '4:2:0', isProgressive: false })
        expect(output.equals(await sharpJpeg(png, quality))).toBe(true)
      }
    }
  })

  it('writes grey PNGs as colour JPEGs, byte for byte as sharp does', async () => {
    const png = craftPng(pictureLikePixels(96, 64, 1), 96, 64, 1)
    const { route, output } = await routeOf(png, 30)
    expect(route).toEqual({ encoder: 'native' })
    expect(await sharp(output).metadata()).toMatchObject({ channels: 3, width: 96, height: 64 })
    expect(output.equals(await sharpJpeg(png, 30))).toBe(true)
  })

  it('undoes every PNG row filter exactly, over one or many IDAT chunks', async () => {
    for (const channels of [3, 1] as const) {
      const pixels = pictureLikePixels(67, 41, channels)
      const filterings: ((y: number) => number)[] = [(y) => y % 5, ...[0, 1, 2, 3, 4].map((type) => () => type), (y) => (y * 3 + 4) % 5]
      for (const filterOf of filterings) {
        for (const idatSize of [undefined, 97]) {
          const png = craftPng(pixels, 67, 41, channels, { filterOf, idatSize })
          const bySharp = channels === 1 ? sharp(png).extractChannel(0) : sharp(png)
          expect((await bySharp.raw().toBuffer()).equals(pixels)).toBe(true)
          const decoded = await native!.decodePng(png, MAX_DECODE_PIXELS)
          expect(decoded).toMatchObject({ width: 67, height: 41, channels })
          expect(Buffer.from(decoded.data).equals(pixels)).toBe(true)
        }
      }
    }
  })

  it('leaves interlaced, palette, 16-bit, alpha, ICC-profile and EXIF PNGs to sharp, which still writes them', async () => {
    const base = sharp(pictureLikePixels(80, 60, 3), { raw: { width: 80, height: 60, channels: 3 } })
    const cases = {
      interlaced: await base.clone().png({ progressive: true }).toBuffer(),
      palette: await base.clone().png({ palette: true }).toBuffer(),
      sixteenBit: await base.clone().toColourspace('rgb16').png().toBuffer(),
      alpha: await base.clone().ensureAlpha(0.5).png().toBuffer(),
      iccProfile: await base.clone().withIccProfile('p3').png().toBuffer(),
      exifRotated: craftPng(pictureLikePixels(80, 60, 3), 80, 60, 3, { extraChunks: [{ type: 'eXIf', data: exifWithOrientation(6) }] }),
    }
    for (const [name, png] of Object.entries(cases)) {
      await expect(native!.pngToJpeg(png, 65, MAX_DECODE_PIXELS), name).rejects.toMatchObject({ code: 'unsupported' })
      const { route, output } = await routeOf(png)
      expect(route, name).toEqual({ encoder: 'sharp', nativeDeclined: 'unsupported' })
      expect(output.equals(await sharpJpeg(png, 65)), name).toBe(true)
    }
    expect(await sharp(await degradeImage(cases.exifRotated, { jpeg: 65 })).metadata()).toMatchObject({ width: 60, height: 80 })
  })

  it('rejects damaged PNGs with a code, and degradeImage reports the same error as sharp alone', async () => {
    const png = craftPng(pictureLikePixels(64, 64, 3), 64, 64, 3)
    const truncated = png.subarray(0, Math.floor(png.length * 0.6))
    const badCrc = Buffer.from(png)
    badCrc[40] = badCrc[40]! ^ 0xff
    const huge = Buffer.concat([png.subarray(0, 8), pngChunk('IHDR', Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 8, 2, 0, 0, 0])), png.subarray(33)])
    await expect(native!.pngToJpeg(truncated, 65, MAX_DECODE_PIXELS)).rejects.toMatchObject({ code: 'corrupt' })
    await expect(native!.pngToJpeg(badCrc, 65, MAX_DECODE_PIXELS)).rejects.toMatchObject({ code: 'corrupt' })
    await expect(native!.pngToJpeg(huge, 65, 1e9)).rejects.toMatchObject({ code: 'too_large' })

    const sharpError = await sharpJpeg(truncated, 65).catch((error: Error) => error.message)
    const ours = await degradeImage(truncated, { jpeg: 65 }).catch((error: Error) => error.message)
    expect(typeof sharpError).toBe('string')
    expect(ours).toBe(sharpError)
  })
})
