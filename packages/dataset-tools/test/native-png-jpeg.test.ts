import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { degrade, degradeImage, type EncoderRoute } from '../src/degrade.ts'
import { MAX_DECODE_PIXELS } from '@genimage/imaging'
import { estimateJpegQuality } from '@genimage/imaging'
import { nativePngJpeg } from '@genimage/imaging'
import { temporaryFolders } from './fixtures.ts'
import { craftPng, pictureLikePixels, pngChunk } from './png-craft.ts'

const folder = temporaryFolders()
const PHOTOS = new URL('../photos/', import.meta.url)

function sharpJpeg(png: Buffer, quality: number): Promise<Buffer> {
  return sharp(png, { limitInputPixels: MAX_DECODE_PIXELS, failOn: 'truncated' })
    .jpeg({ quality, chromaSubsampling: '4:2:0', optimiseCoding: false })
    .toBuffer()
}

async function meanAbsoluteDifference(a: Buffer, b: Buffer): Promise<number> {
  const [pa, pb] = [await sharp(a).raw().toBuffer(), await sharp(b).raw().toBuffer()]
  expect(pa.length).toBe(pb.length)
  let sum = 0
  for (let i = 0; i < pa.length; i++) sum += Math.abs(pa[i]! - pb[i]!)
  return sum / pa.length
}

async function photoCropPng(name: string, side: number): Promise<Buffer> {
  return sharp(new URL(name, PHOTOS).pathname).resize(side, side, { fit: 'cover' }).png({ adaptiveFiltering: true }).toBuffer()
}

async function routeOf(png: Buffer, quality = 65): Promise<{ route: EncoderRoute | undefined; output: Buffer }> {
  let route: EncoderRoute | undefined
  const output = await degradeImage(png, { jpeg: quality }, 'cubic', (r) => (route = r))
  return { route, output }
}

const native = nativePngJpeg({}).addon

describe('native PNG → JPEG path', () => {
  it('is built and loaded (npm run build:native)', () => {
    expect(nativePngJpeg({}).reason).toMatch(/libdeflate .* \+ libjpeg/)
    expect(native).toBeDefined()
    expect(nativePngJpeg({ GENIMAGE_PNG_JPEG: 'sharp' }).addon).toBeUndefined()
  })

  it('re-encodes photos and picture-like PNGs at q65 as sharp would, through the native path', async () => {
    const photos = (await readdir(PHOTOS)).filter((name) => name.endsWith('.jpg')).slice(0, 2)
    const pngs = [...(await Promise.all(photos.map((name) => photoCropPng(name, 320)))), craftPng(pictureLikePixels(300, 200, 3), 300, 200, 3)]
    for (const png of pngs) {
      const { route, output } = await routeOf(png)
      expect(route).toEqual({ encoder: 'native' })
      expect(estimateJpegQuality(output)).toEqual({ quality: 65, exact: true })
      expect(await sharp(output).metadata()).toMatchObject({ format: 'jpeg', chromaSubsampling: '4:2:0', isProgressive: false })
      expect(await meanAbsoluteDifference(output, await sharpJpeg(png, 65))).toBeLessThan(2)
    }
  })

  it('writes grey PNGs as colour JPEGs like sharp does', async () => {
    const png = craftPng(pictureLikePixels(96, 64, 1), 96, 64, 1)
    const { route, output } = await routeOf(png, 30)
    expect(route).toEqual({ encoder: 'native' })
    expect(await sharp(output).metadata()).toMatchObject({ channels: 3, width: 96, height: 64 })
    expect(await meanAbsoluteDifference(output, await sharpJpeg(png, 30))).toBeLessThan(2)
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

  it('leaves interlaced, palette, 16-bit, alpha and ICC-profile PNGs to sharp, which still writes them', async () => {
    const base = sharp(pictureLikePixels(80, 60, 3), { raw: { width: 80, height: 60, channels: 3 } })
    const cases = {
      interlaced: await base.clone().png({ progressive: true }).toBuffer(),
      palette: await base.clone().png({ palette: true }).toBuffer(),
      sixteenBit: await base.clone().toColourspace('rgb16').png().toBuffer(),
      alpha: await base.clone().ensureAlpha(0.5).png().toBuffer(),
      iccProfile: await base.clone().withIccProfile('p3').png().toBuffer(),
    }
    for (const [name, png] of Object.entries(cases)) {
      await expect(native!.pngToJpeg(png, 65, MAX_DECODE_PIXELS), name).rejects.toMatchObject({ code: 'unsupported' })
      const { route, output } = await routeOf(png)
      expect(route, name).toEqual({ encoder: 'sharp', nativeDeclined: 'unsupported' })
      expect(output.equals(await sharpJpeg(png, 65)), name).toBe(true)
    }
  })

  it('rejects damaged PNGs with a code, and degrade reports the same error as sharp alone', async () => {
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

  it('records the encoders in degrade.json and writes byte-identical JPEGs run after run', async () => {
    const root = await folder('native-root')
    for (const [split, label, index] of [
      ['train', 'ai', 0],
      ['train', 'ai', 1],
      ['val', 'ai', 2],
      ['val', 'nature', 3],
    ] as const) {
      await mkdir(join(root, 'SD_V1.4', split, label), { recursive: true })
      const pixels = pictureLikePixels(64 + index * 8, 48, 3)
      const png = craftPng(pixels, 64 + index * 8, 48, 3)
      const bytes = label === 'nature' ? await sharp(png).jpeg({ quality: 96 }).toBuffer() : png
      await writeFile(join(root, 'SD_V1.4', split, label, `${index}.${label === 'nature' ? 'JPEG' : 'png'}`), bytes)
    }
    const [a, b] = [await folder('native-a'), await folder('native-b')]
    expect(await degrade(root, a, { jpeg: 65 })).toMatchObject({ written: 4, failed: [] })
    await degrade(root, b, { jpeg: 65 })
    const sidecar = JSON.parse(await readFile(join(a, 'degrade.json'), 'utf8'))
    expect(sidecar.parameters.encoder).toMatch(/libdeflate .* \+ libjpeg.*native addon.*sharp/)
    expect(sidecar.encodersThisRun).toEqual({ native: 3, sharp: 1, nativeDeclined: {} })
    for (const name of ['train/ai/0.jpg', 'train/ai/1.jpg', 'val/ai/2.jpg', 'val/nature/3.jpg']) {
      expect((await readFile(join(a, 'SD_V1.4', name))).equals(await readFile(join(b, 'SD_V1.4', name))), name).toBe(true)
    }

    process.env.GENIMAGE_PNG_JPEG = 'sharp'
    try {
      const plain = await folder('native-off')
      await degrade(root, plain, { jpeg: 65 })
      const off = JSON.parse(await readFile(join(plain, 'degrade.json'), 'utf8'))
      expect(off.parameters.encoder).toMatch(/^sharp [\d.]+, libvips/)
      expect(off.encodersThisRun).toEqual({ native: 0, sharp: 4, nativeDeclined: {} })
    } finally {
      delete process.env.GENIMAGE_PNG_JPEG
    }
  })
})
