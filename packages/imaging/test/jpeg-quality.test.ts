import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { estimateJpegQuality, readImageHeader, readQuantisationTables, scaledStandardTable } from '../src/index.ts'
import { craftPng, pictureLikePixels } from './png-craft.ts'

const source = sharp(pictureLikePixels(40, 24, 3), { raw: { width: 40, height: 24, channels: 3 } })

describe('JPEG quality from quantisation tables', () => {
  it.each([5, 10, 30, 50, 65, 75, 90, 95, 96, 100])('recovers quality %i exactly from a sharp-encoded JPEG', async (quality) => {
    const jpeg = await source.clone().jpeg({ quality }).toBuffer()
    expect(estimateJpegQuality(jpeg)).toEqual({ quality, exact: true })
  })

  it('reads the tables in natural order (DC coefficient first, last coefficient 99 at quality 50)', async () => {
    const tables = readQuantisationTables(await source.clone().jpeg({ quality: 50 }).toBuffer())
    expect(tables.get(0)).toEqual(scaledStandardTable(50))
    expect(tables.get(0)![0]).toBe(16)
    expect(tables.get(0)![63]).toBe(99)
    expect(tables.get(1)).toEqual(scaledStandardTable(50, true))
  })

  it('gives the nearest quality for an encoder with its own tables (mozjpeg) and none for a PNG', async () => {
    const moz = estimateJpegQuality(await source.clone().jpeg({ quality: 80, mozjpeg: true }).toBuffer())
    expect(moz?.exact).toBe(false)
    expect(Math.abs(moz!.quality - 80)).toBeLessThanOrEqual(5)
    expect(estimateJpegQuality(craftPng(pictureLikePixels(8, 8, 3), 8, 8, 3))).toBeUndefined()
  })

  it('reads format and size from headers without decoding', async () => {
    expect(await readImageHeader(await source.clone().jpeg({ quality: 70 }).toBuffer())).toEqual({ format: 'jpeg', width: 40, height: 24, jpegQuality: 70 })
    expect(await readImageHeader(craftPng(pictureLikePixels(17, 9, 3), 17, 9, 3))).toEqual({ format: 'png', width: 17, height: 9, jpegQuality: null })
    expect(await readImageHeader(await source.clone().webp().toBuffer())).toMatchObject({ format: 'webp', width: 40, height: 24 })
    expect(await readImageHeader(Buffer.from('not an image'))).toBeUndefined()
  })
})
