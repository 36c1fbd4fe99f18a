/** A request the fuzzer sends: a raw body with its content type, and what kind of hostility it carries. */
export interface HostileRequest {
  kind: string
  body: Uint8Array
  contentType: string
}

/** Deterministic PRNG (mulberry32) so a failing case can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const encoder = new TextEncoder()

interface Part {
  name: string
  filename?: string
  type?: string
  bytes: Uint8Array
}

/** Builds a multipart/form-data body by hand, so field names, filenames and framing can be anything. */
export function multipart(parts: Part[], boundary = `----fuzz${Math.random().toString(16).slice(2)}`, close = true): HostileRequest {
  const chunks: Uint8Array[] = []
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}`
    const head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`
    chunks.push(encoder.encode(head), p.bytes, encoder.encode('\r\n'))
  }
  if (close) chunks.push(encoder.encode(`--${boundary}--\r\n`))
  return { kind: 'multipart', body: concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let o = 0
  for (const c of chunks) {
    out.set(c, o)
    o += c.byteLength
  }
  return out
}

/** Seeds for mutation: small valid images of each format. */
export interface Seeds {
  jpeg: Uint8Array
  png: Uint8Array
  webp: Uint8Array
}

const MIMES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'text/plain', 'application/pdf', '', 'image/svg+xml']

/** The hostile cases, by kind; each takes the PRNG and the seeds and returns one request. */
export const HOSTILE_KINDS: Record<string, (rand: () => number, seeds: Seeds) => HostileRequest> = {
  randomBytes: (rand) => image(randomBytes(rand, Math.floor(rand() * 8192))),
  truncated: (rand, seeds) => {
    const seed = pickSeed(rand, seeds)
    return image(seed.subarray(0, Math.floor(rand() * seed.byteLength)))
  },
  bitFlipped: (rand, seeds) => {
    const copy = pickSeed(rand, seeds).slice()
    const flips = 1 + Math.floor(rand() * 24)
    for (let i = 0; i < flips; i++) {
      const at = Math.floor(rand() * copy.byteLength)
      copy[at] = (copy[at] as number) ^ (1 << Math.floor(rand() * 8))
    }
    return image(copy)
  },
  headerBomb: (rand, seeds) => image(headerBomb(rand, seeds)),
  wrongMime: (rand, seeds) => {
    const bytes = rand() < 0.5 ? pickSeed(rand, seeds) : encoder.encode('<svg xmlns="http://www.w3.org/2000/svg"/>')
    const names = ['photo.jpg', 'x.png', 'a.gif', 'evil.exe', '../../etc/passwd', '']
    return named(
      multipart([{ name: 'image', filename: names[Math.floor(rand() * names.length)], type: MIMES[Math.floor(rand() * MIMES.length)], bytes }]),
      'wrongMime',
    )
  },
  emptyParts: (rand, seeds) => {
    const variants: Part[][] = [
      [{ name: 'image', filename: 'empty.jpg', type: 'image/jpeg', bytes: new Uint8Array(0) }],
      [],
      [{ name: 'image', bytes: encoder.encode('just a string field') }],
      [
        { name: 'model', bytes: new Uint8Array(0) },
        { name: 'image', filename: 'ok.jpg', bytes: seeds.jpeg },
      ],
      [{ name: '', filename: '', bytes: seeds.png }],
    ]
    return named(multipart(variants[Math.floor(rand() * variants.length)] as Part[]), 'emptyParts')
  },
  hugeFieldName: (rand, seeds) => {
    const length = 1024 * (1 + Math.floor(rand() * 512))
    const name = 'n'.repeat(length)
    const parts: Part[] =
      rand() < 0.5
        ? [
            { name, bytes: encoder.encode('x') },
            { name: 'image', filename: 'a.png', bytes: seeds.png },
          ]
        : [{ name: 'image', filename: 'f'.repeat(length), bytes: seeds.png }]
    return named(multipart(parts), 'hugeFieldName')
  },
  brokenFraming: (rand, seeds) => {
    const variants: HostileRequest[] = [
      multipart([{ name: 'image', filename: 'a.jpg', bytes: seeds.jpeg }], 'abc', false),
      { kind: '', body: seeds.jpeg, contentType: 'multipart/form-data' },
      { kind: '', body: seeds.jpeg, contentType: 'multipart/form-data; boundary=nothere' },
      { kind: '', body: seeds.jpeg, contentType: 'image/jpeg' },
      { kind: '', body: randomBytes(rand, 2048), contentType: `multipart/form-data; boundary=${'b'.repeat(70)}` },
      { kind: '', body: encoder.encode('--x\r\nContent-Disposition: form-data\r\n\r\n'), contentType: 'multipart/form-data; boundary=x' },
    ]
    return named(variants[Math.floor(rand() * variants.length)] as HostileRequest, 'brokenFraming')
  },
  manyParts: (rand, seeds) => {
    const count = 17 + Math.floor(rand() * 200)
    return named(multipart(Array.from({ length: count }, () => ({ name: 'image', filename: 'x.png', bytes: seeds.png }))), 'manyParts')
  },
  valid: (rand, seeds) => named(multipart([{ name: 'image', filename: 'ok', type: 'image/jpeg', bytes: pickSeed(rand, seeds) }]), 'valid'),
}

function image(bytes: Uint8Array): HostileRequest {
  return multipart([{ name: 'image', filename: 'upload.bin', type: 'image/jpeg', bytes }])
}

function named(request: HostileRequest, kind: string): HostileRequest {
  return { ...request, kind }
}

function pickSeed(rand: () => number, seeds: Seeds): Uint8Array {
  const all = [seeds.jpeg, seeds.png, seeds.webp]
  return all[Math.floor(rand() * all.length)] as Uint8Array
}

function randomBytes(rand: () => number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(rand() * 256))
}

/** A real image whose header claims an enormous size (PNG IHDR, JPEG SOF or WebP VP8X canvas rewritten). */
function headerBomb(rand: () => number, seeds: Seeds): Uint8Array {
  const which = Math.floor(rand() * 3)
  const huge = 30_000 + Math.floor(rand() * 35_000)
  if (which === 0) {
    const png = seeds.png.slice()
    const view = new DataView(png.buffer)
    view.setUint32(16, huge)
    view.setUint32(20, huge)
    return png
  }
  if (which === 1) {
    const jpeg = seeds.jpeg.slice()
    for (let o = 2; o + 9 < jpeg.length; ) {
      const marker = jpeg[o + 1] as number
      if (marker >= 0xc0 && marker <= 0xc2) {
        new DataView(jpeg.buffer).setUint16(o + 5, huge & 0xffff)
        new DataView(jpeg.buffer).setUint16(o + 7, huge & 0xffff)
        return jpeg
      }
      o += 2 + (((jpeg[o + 2] as number) << 8) | (jpeg[o + 3] as number))
    }
    return jpeg
  }
  const webp = seeds.webp.slice()
  const header = new Uint8Array(30)
  header.set(encoder.encode('RIFF'), 0)
  new DataView(header.buffer).setUint32(4, 22, true)
  header.set(encoder.encode('WEBPVP8X'), 8)
  new DataView(header.buffer).setUint32(16, 10, true)
  const w = 16_383
  header.set([w & 0xff, (w >> 8) & 0xff, 0, w & 0xff, (w >> 8) & 0xff, 0], 24)
  return concat([header, webp.subarray(12)])
}
