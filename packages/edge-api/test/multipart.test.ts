import { describe, expect, it } from 'vitest'
import { MultipartError, multipartBoundary, parseMultipart } from '../src/inputs/multipart.ts'

const encoder = new TextEncoder()
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const bytesOf = (...chunks: (string | Uint8Array)[]): Uint8Array<ArrayBuffer> => {
  const parts = chunks.map((c) => (typeof c === 'string' ? encoder.encode(c) : c))
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/** What the platform's own encoder (undici / Deno) writes for a FormData, with its boundary. */
async function encoded(form: FormData): Promise<{ body: Uint8Array<ArrayBuffer>; boundary: string }> {
  const response = new Response(form)
  const boundary = multipartBoundary(response.headers.get('content-type') ?? '')
  if (!boundary) throw new Error('no boundary')
  return { body: new Uint8Array(await response.arrayBuffer()), boundary }
}

describe('parseMultipart', () => {
  it("reads what the runtime's own FormData encoder writes: files byte for byte, text fields, in order", async () => {
    const binary = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256)
    // Every byte value, and CR LF followed by dashes inside the content, must come back unchanged.
    binary.set(encoder.encode('\r\n--\r\n-- almost a boundary'), 1000)
    const form = new FormData()
    form.append('model', 'resnet50')
    form.append('image', new Blob([binary]), 'photo one.jpg')
    form.append('image', new Blob([encoder.encode('second')]), 'b.png')
    form.append('note', 'ünïcødé ✓')
    const { body, boundary } = await encoded(form)
    const parts = parseMultipart(body, boundary)
    expect(parts.map((p) => [p.name, p.filename])).toEqual([
      ['model', undefined],
      ['image', 'photo one.jpg'],
      ['image', 'b.png'],
      ['note', undefined],
    ])
    expect(text(parts[0]!.data)).toBe('resnet50')
    expect(parts[1]!.data).toEqual(binary)
    expect(text(parts[2]!.data)).toBe('second')
    expect(text(parts[3]!.data)).toBe('ünïcødé ✓')
  })

  it('returns file parts as views into the body, without copying', async () => {
    const form = new FormData()
    form.append('image', new Blob([new Uint8Array(4096).fill(9)]), 'a.jpg')
    const { body, boundary } = await encoded(form)
    const [part] = parseMultipart(body, boundary)
    expect(part!.data.buffer).toBe(body.buffer)
    expect(part!.data.byteLength).toBe(4096)
  })

  it('ignores a preamble and an epilogue, allows padding after a boundary and a part without headers other than the disposition', () => {
    const body = bytesOf(
      'this is a preamble\r\n',
      '--XyZ  \t\r\n',
      'content-disposition: form-data; name=image; filename="a\\"b.jpg"\r\nContent-Type: image/jpeg\r\n\r\n',
      'JPEGBYTES',
      '\r\n--XyZ\r\n',
      'Content-Disposition: form-data; name="model"\r\n\r\n',
      'm1',
      '\r\n--XyZ--\r\nepilogue that is ignored',
    )
    const parts = parseMultipart(body, 'XyZ')
    expect(parts).toHaveLength(2)
    expect(parts[0]).toMatchObject({ name: 'image', filename: 'a"b.jpg', contentType: 'image/jpeg' })
    expect(text(parts[0]!.data)).toBe('JPEGBYTES')
    expect(text(parts[1]!.data)).toBe('m1')
  })

  it('reads an RFC 8187 filename* in preference to filename, and an empty filename as a file', () => {
    const body = bytesOf(
      '--b\r\nContent-Disposition: form-data; name="image"; filename="fallback.jpg"; filename*=UTF-8\'\'%E2%82%AC%20rates.jpg\r\n\r\nx\r\n',
      '--b\r\nContent-Disposition: form-data; name="image"; filename=""\r\n\r\ny\r\n--b--',
    )
    const parts = parseMultipart(body, 'b')
    expect(parts.map((p) => p.filename)).toEqual(['€ rates.jpg', ''])
  })

  it('reads an empty part and an empty form', () => {
    expect(parseMultipart(bytesOf('--b\r\nContent-Disposition: form-data; name="image"; filename="e"\r\n\r\n\r\n--b--\r\n'), 'b')[0]!.data.byteLength).toBe(0)
    expect(parseMultipart(bytesOf('--b--\r\n'), 'b')).toEqual([])
  })

  const refuses = (body: Uint8Array<ArrayBuffer>, boundary: string, message: RegExp, limits = {}) => {
    let error: unknown
    try {
      parseMultipart(body, boundary, limits)
    } catch (e) {
      error = e
    }
    // A MultipartError (which the route answers with 400 invalid_request), never some other failure.
    expect(error instanceof MultipartError).toBe(true)
    expect((error as Error).message).toMatch(message)
  }

  it('refuses bodies that are cut short, lack the boundary, or have malformed part headers, with a reason', () => {
    const part = '--b\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nDATA'
    refuses(bytesOf(part), 'b', /ends before the closing boundary/)
    refuses(bytesOf(`${part}\r\n`), 'b', /ends before the closing boundary/)
    refuses(bytesOf('--b\r\nContent-Disposition: form-data; name="x"'), 'b', /headers are not terminated/)
    refuses(bytesOf('just bytes'), 'nothere', /does not occur/)
    refuses(bytesOf('--bjunk\r\n'), 'b', /not followed by CRLF/)
    refuses(bytesOf('--b\r\nContent-Type: image/png\r\n\r\nx\r\n--b--'), 'b', /no Content-Disposition/)
    refuses(bytesOf('--b\r\n\r\nno headers at all\r\n--b--'), 'b', /no Content-Disposition/)
    refuses(bytesOf('--b\r\nContent-Disposition: attachment; name="x"\r\n\r\nx\r\n--b--'), 'b', /not form-data/)
    refuses(bytesOf('--b\r\nContent-Disposition: form-data; filename="x"\r\n\r\nx\r\n--b--'), 'b', /no name/)
    refuses(bytesOf('--b\r\nContent-Disposition: form-data; name="x\r\n\r\nx\r\n--b--'), 'b', /quoted header parameter is not closed/)
    refuses(bytesOf('--b\r\nno colon here\r\n\r\nx\r\n--b--'), 'b', /header line has no name/)
    refuses(bytesOf('--b\r\nContent-Disposition: form-data; name="i"; filename*=latin1\'\'x\r\n\r\nx\r\n--b--'), 'b', /not UTF-8/)
  })

  it('bounds the header block of a part and the number of parts', () => {
    const longName = 'n'.repeat(20_000)
    refuses(bytesOf(`--b\r\nContent-Disposition: form-data; name="${longName}"\r\n\r\nx\r\n--b--`), 'b', /headers are over 16384 bytes/)
    const many = bytesOf(...Array.from({ length: 5 }, () => '--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nv\r\n'), '--b--')
    refuses(many, 'b', /more than 4 parts/, { maxParts: 4 })
    expect(parseMultipart(many, 'b', { maxParts: 5 })).toHaveLength(5)
  })
})

describe('parseMultipart on mutated bodies', () => {
  it('either reads parts that lie inside the body or refuses with a MultipartError, for 3000 mutations', async () => {
    const form = new FormData()
    form.append('model', 'm')
    form.append('image', new Blob([Uint8Array.from({ length: 3000 }, (_, i) => (i * 31) % 256)]), 'a.jpg')
    form.append('image', new Blob([encoder.encode('second file')]), 'b.png')
    const { body, boundary } = await encoded(form)
    let seed = 7
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0
      return seed / 2 ** 32
    }
    const pieces = ['\r\n', `--${boundary}`, `\r\n--${boundary}`, '--', '"', ';', ':', 'Content-Disposition: form-data; name="x"', '\r\n\r\n']
    let read = 0
    let refused = 0
    for (let i = 0; i < 3000; i++) {
      let mutated: Uint8Array<ArrayBuffer> = body.slice()
      const kind = i % 3
      if (kind === 0) {
        for (let f = 0; f < 1 + Math.floor(rand() * 8); f++) {
          const at = Math.floor(rand() * mutated.length)
          mutated[at] = (mutated[at] as number) ^ (1 << Math.floor(rand() * 8))
        }
      } else if (kind === 1) {
        mutated = mutated.slice(0, Math.floor(rand() * mutated.length))
      } else {
        const at = Math.floor(rand() * mutated.length)
        mutated = bytesOf(mutated.subarray(0, at), pieces[Math.floor(rand() * pieces.length)] as string, mutated.subarray(at))
      }
      try {
        const parts = parseMultipart(mutated, boundary)
        for (const part of parts) {
          expect(part.data.buffer).toBe(mutated.buffer)
          expect(part.data.byteOffset + part.data.byteLength <= mutated.byteLength).toBe(true)
          expect(typeof part.name).toBe('string')
        }
        read++
      } catch (error) {
        if (!(error instanceof MultipartError)) throw error
        refused++
      }
    }
    expect(read + refused).toBe(3000)
    expect(read).toBeGreaterThan(100)
    expect(refused).toBeGreaterThan(100)
  })
})

describe('multipartBoundary', () => {
  it('reads a token or quoted boundary, case-insensitively, and refuses a missing or over-long one', () => {
    expect(multipartBoundary('multipart/form-data; boundary=----abc123')).toBe('----abc123')
    expect(multipartBoundary('multipart/form-data; charset=utf-8; BOUNDARY="a b;c"')).toBe('a b;c')
    expect(multipartBoundary('multipart/form-data')).toBeUndefined()
    expect(multipartBoundary(`multipart/form-data; boundary=${'b'.repeat(71)}`)).toBeUndefined()
    expect(multipartBoundary(`multipart/form-data; boundary=${'b'.repeat(70)}`)).toBe('b'.repeat(70))
  })
})
