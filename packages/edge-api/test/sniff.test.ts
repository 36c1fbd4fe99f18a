import { ErrorResponse } from '@genimage/shared'
import { describe, expect, it } from 'vitest'
import { sniffImage } from '../src/sniff.ts'
import { edgeWith, form, JPEG_8x8, oipPeer, PNG_8x8 } from './fixtures.ts'

const decode = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))

/** A 12×8 AVIF encoded by sharp 0.35 (libheif + aom). */
const AVIF_12x8 = decode(
  'AAAAHGZ0eXBhdmlmAAAAAG1pZjFhdmlmbWlhZgAAANZtZXRhAAAAAAAAACFoZGxyAAAAAAAAAABwaWN0AAAAAAAAAAAAAAAAAAAAACJpbG9jAAAAAERAAAEAAQAAAAAA+gABAAAAAAAAACIAAAAjaWluZgAAAAAAAQAAABVpbmZlAgAAAAABAABhdjAxAAAAAA5waXRtAAAAAAABAAAAVmlwcnAAAAA4aXBjbwAAAAxhdjFDgSACAAAAABRpc3BlAAAAAAAAAAwAAAAIAAAAEHBpeGkAAAAAAwgICAAAABZpcG1hAAAAAAAAAAEAAQOBAgMAAAAqbWRhdBIACgg4DK+0gIaDSDIUGUJjBMAANAAAsK1pMDLOjJRdTng=',
)

/** A TIFF header with one IFD holding ImageWidth (SHORT) and ImageLength (LONG), in either byte order. */
function tiffHeader(width: number, height: number, little: boolean): Uint8Array {
  const bytes = new Uint8Array(8 + 2 + 2 * 12 + 4)
  const view = new DataView(bytes.buffer)
  bytes.set(little ? [0x49, 0x49, 0x2a, 0x00] : [0x4d, 0x4d, 0x00, 0x2a])
  view.setUint32(4, 8, little)
  view.setUint16(8, 2, little)
  const entry = (at: number, tag: number, type: number, value: number) => {
    view.setUint16(at, tag, little)
    view.setUint16(at + 2, type, little)
    view.setUint32(at + 4, 1, little)
    if (type === 3) view.setUint16(at + 8, value, little)
    else view.setUint32(at + 8, value, little)
  }
  entry(10, 256, 3, width)
  entry(22, 257, 4, height)
  return bytes
}

/** The AVIF fixture with its `ispe` box rewritten to claim another size. */
function avifClaiming(width: number, height: number): Uint8Array {
  const bytes = AVIF_12x8.slice()
  const at = bytes.findIndex((_, i) => String.fromCharCode(...bytes.subarray(i, i + 4)) === 'ispe')
  const view = new DataView(bytes.buffer)
  view.setUint32(at + 8, width)
  view.setUint32(at + 12, height)
  return bytes
}

describe('sniffImage', () => {
  it('identifies each accepted format by its bytes and reads its dimensions', () => {
    expect(sniffImage(JPEG_8x8)).toEqual({ format: 'jpeg', width: 8, height: 8 })
    expect(sniffImage(PNG_8x8)).toEqual({ format: 'png', width: 8, height: 8 })
    expect(sniffImage(AVIF_12x8)).toEqual({ format: 'avif', width: 12, height: 8 })
    expect(sniffImage(tiffHeader(640, 480, true))).toEqual({ format: 'tiff', width: 640, height: 480 })
    expect(sniffImage(tiffHeader(4000, 3, false))).toEqual({ format: 'tiff', width: 4000, height: 3 })
    expect(sniffImage(new TextEncoder().encode('GIF89a\x10\x00\x20\x00'))).toEqual({ format: 'gif', width: 16, height: 32 })
    expect(sniffImage(new TextEncoder().encode('not an image at all'))).toBeUndefined()
  })

  it('survives truncated headers without throwing', () => {
    for (const sample of [JPEG_8x8, PNG_8x8, AVIF_12x8, tiffHeader(8, 8, true), tiffHeader(8, 8, false)]) {
      for (let n = 0; n < sample.length; n += 3) expect(() => sniffImage(sample.subarray(0, n))).not.toThrow()
    }
  })
})

describe('pixel limit for AVIF and TIFF', () => {
  it('answers 422 image_too_large for AVIF and TIFF headers that claim 100000×100000, without calling a runner', async () => {
    for (const bomb of [avifClaiming(100_000, 100_000), tiffHeader(60_000, 100_000, true), tiffHeader(60_000, 100_000, false)]) {
      const peer = oipPeer()
      const { app } = await edgeWith({ r1: peer })
      const res = await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: bomb }]) })
      expect(res.status).toBe(422)
      expect(ErrorResponse.parse(await res.json()).error.code).toBe('image_too_large')
      expect(peer.calls.infer).toBe(0)
    }
  })

  it('passes an AVIF within the limit on to the runner', async () => {
    const peer = oipPeer()
    const { app } = await edgeWith({ r1: peer })
    const res = await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: AVIF_12x8 }]) })
    expect(res.status).toBe(200)
    expect(peer.calls.infer).toBe(1)
  })
})
