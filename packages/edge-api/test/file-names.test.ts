import { DetectResponse } from '@genimage/shared'
import { describe, expect, it } from 'vitest'
import { MAX_FILE_NAME_CHARS, safeFileName } from '../src/inputs/file-name.ts'
import { edgeWith, oipPeer, PNG_8x8 } from './fixtures.ts'

/** A multipart body written by hand, so file names reach the edge byte for byte as a hostile client sends them. */
function rawForm(dispositions: string[]): { body: Uint8Array<ArrayBuffer>; type: string } {
  const encoder = new TextEncoder()
  const chunks: Uint8Array[] = []
  for (const disposition of dispositions) {
    chunks.push(
      encoder.encode(`--xyz\r\nContent-Disposition: form-data; name="image"; ${disposition}\r\nContent-Type: image/png\r\n\r\n`),
      PNG_8x8,
      encoder.encode('\r\n'),
    )
  }
  chunks.push(encoder.encode('--xyz--\r\n'))
  const body = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let offset = 0
  for (const chunk of chunks) {
    body.set(chunk, offset)
    offset += chunk.byteLength
  }
  return { body, type: 'multipart/form-data; boundary=xyz' }
}

async function echoedNames(dispositions: string[]): Promise<(string | undefined)[]> {
  const { app } = await edgeWith({ r1: oipPeer() })
  const { body, type } = rawForm(dispositions)
  const res = await app.request('/v1/detect', { method: 'POST', body, headers: { 'content-type': type } })
  expect(res.status).toBe(200)
  const text = await res.text()
  for (const unsafe of ['\u0000', '\u202e', '\\u0000', '\\u202e', '<script', '<img']) expect(text.includes(unsafe)).toBe(false)
  return DetectResponse.parse(JSON.parse(text)).images.map((image) => image.filename)
}

describe('uploaded file names', () => {
  it('are echoed without control or bidi-override characters and without markup, through the detect route', async () => {
    const names = await echoedNames([
      'filename="invoice\u202Egnp.exe"',
      'filename="a\u0000b\u0007c.png"',
      'filename="<script>alert(1)</script>.png"',
      'filename="<img src=x onerror=alert(1)>.png"',
      `filename*=UTF-8''%E2%80%AEcod.png%0D%0Ax`,
      'filename="C:\\\\Users\\\\me\\\\photo.png"',
      'filename="\u2066\u200f\u061c"',
    ])
    expect(names).toEqual(['invoicegnp.exe', 'abc.png', 'script_.png', '_img src=x onerror=alert(1)_.png', 'cod.pngx', 'photo.png', undefined])
  })

  it('keep ordinary Unicode as sent', async () => {
    const names = await echoedNames([
      `filename*=UTF-8''${encodeURIComponent('café 日本 👩‍💻.png')}`,
      `filename*=UTF-8''${encodeURIComponent('صورة.jpg')}`,
      'filename="Tom\'s a&b (1).png"',
    ])
    expect(names).toEqual(['café 日本 👩‍💻.png', 'صورة.jpg', "Tom's a&b (1).png"])
  })

  it('are bounded in length, keeping the extension', async () => {
    const [name] = await echoedNames([`filename*=UTF-8''${encodeURIComponent(`${'日'.repeat(1000)}.webp`)}`])
    expect(Array.from(name ?? '')).toHaveLength(MAX_FILE_NAME_CHARS)
    expect(name?.endsWith('日.webp')).toBe(true)
  })
})

describe('safeFileName', () => {
  const cases: [raw: string, safe: string | undefined][] = [
    ['plain.jpg', 'plain.jpg'],
    ['../../etc/passwd', 'passwd'],
    ['e\u0301te\u0301.png', 'été.png'],
    ['a\u2028b\u2029c\ufeff.png', 'abc.png'],
    ['\ud800x.png', 'x.png'],
    ['  spaced \t name .png ', 'spaced name .png'],
    ['blob', undefined],
    ['\u202e', undefined],
    ['say "hi" `now`.png', 'say _hi_ _now_.png'],
  ]
  it('cleans each name of the table', () => {
    for (const [raw, safe] of cases) expect({ raw, safe: safeFileName(raw) }).toEqual({ raw, safe })
  })
})
