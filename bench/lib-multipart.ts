// Benchmark: the edge's multipart/form-data parser (packages/edge-api/src/inputs/multipart.ts) vs
// @remix-run/multipart-parser on the same detect bodies (1, 4 and 16 images of 200 KB–2 MB): throughput, JS heap
// bytes allocated and ArrayBuffer bytes kept per parse, and which malformed bodies each refuses.
// The peer is not a project dependency; install it in a scratch folder first:
//   mkdir -p /tmp/libtrial && cd /tmp/libtrial && npm init -y && npm install @remix-run/multipart-parser
// Usage: node --expose-gc --import tsx bench/lib-multipart.ts [scratch=/tmp/libtrial]
import { randomFillSync } from 'node:crypto'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { parseMultipart } from '@genimage/edge-api'
import { heapBytesPerCall, microsPerCall, ratioRow } from './lib-bench-util.ts'

const scratch = process.argv[2] ?? '/tmp/libtrial'
const remix = (await import(createRequire(join(scratch, 'package.json')).resolve('@remix-run/multipart-parser'))) as {
  parseMultipart(body: Uint8Array, options: { boundary: string; maxFileSize?: number; maxTotalSize?: number }): Iterable<RemixPart>
  parseMultipartStream(body: ReadableStream<Uint8Array>, options: { boundary: string; maxFileSize?: number; maxTotalSize?: number }): AsyncIterable<RemixPart>
}
interface RemixPart {
  content: Uint8Array[]
  bytes: Uint8Array
  name?: string
  filename?: string
  mediaType?: string
}

const BOUNDARY = '----genimage-bench-7MA4YWxkTrZu0gW'
const SIZES = [200_000, 700_000, 1_300_000, 2_000_000]
const encoder = new TextEncoder()
const LIMITS = { boundary: BOUNDARY, maxFileSize: 64 * 1024 * 1024, maxTotalSize: 512 * 1024 * 1024 }

/** A detect request body: `count` JPEG-sized random images as `image` parts, as curl -F writes them. */
function detectBody(count: number): Uint8Array<ArrayBuffer> {
  const pieces: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const image = randomFillSync(new Uint8Array(SIZES[i % SIZES.length] as number))
    pieces.push(encoder.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="photo-${i}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`))
    pieces.push(image, encoder.encode('\r\n'))
  }
  pieces.push(encoder.encode(`--${BOUNDARY}--\r\n`))
  return Buffer.concat(pieces) as unknown as Uint8Array<ArrayBuffer>
}

/** What the detect route needs from a parse: each part's name, filename, type and one byte array of its data. */
const ours = (body: Uint8Array<ArrayBuffer>) => parseMultipart(body, BOUNDARY).map((p) => [p.name, p.filename, p.contentType, p.data] as const)
const peer = (body: Uint8Array) =>
  [...remix.parseMultipart(body, LIMITS)].map((p) => [p.name, p.filename, p.mediaType, p.content.length === 1 ? p.content[0] : p.bytes] as const)
/** The peer's streaming mode, fed in 64 KiB chunks as a request body arrives (no whole-body buffer needed). */
async function peerStreaming(body: Uint8Array) {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < body.byteLength; at += 65_536) controller.enqueue(body.subarray(at, at + 65_536))
      controller.close()
    },
  })
  const parts = []
  for await (const p of remix.parseMultipartStream(stream, LIMITS)) parts.push([p.name, p.filename, p.mediaType, p.bytes] as const)
  return parts
}

/** ArrayBuffer bytes still held after `calls` parses whose results are kept: copies show, views into the body do not. */
async function keptBufferBytes(parse: () => unknown, calls: number): Promise<number> {
  const kept: unknown[] = []
  globalThis.gc?.()
  const before = process.memoryUsage().arrayBuffers
  for (let i = 0; i < calls; i++) kept.push(await parse())
  const perParse = (process.memoryUsage().arrayBuffers - before) / calls
  return perParse < 1024 ? 0 : perParse
}
const keptRow = (name: string, ours: number, peer: number) =>
  `${name.padEnd(40)} ours ${(ours / 1e6).toFixed(2).padStart(9)} MB    peer ${(peer / 1e6).toFixed(2).padStart(9)} MB    (0: only views into the body)`

console.log('multipart/form-data: the edge parser (ours) vs @remix-run/multipart-parser (peer), whole body in memory')
for (const count of [1, 4, 16]) {
  const body = detectBody(count)
  const mb = body.byteLength / 1e6
  const a = ours(body)
  const b = peer(body)
  const same = a.length === b.length && a.every((p, i) => p.slice(0, 3).join() === b[i]!.slice(0, 3).join() && Buffer.compare(p[3], b[i]![3]!) === 0)
  const calls = Math.max(20, Math.round(400 / count))
  const [ourMicros, peerMicros, streamMicros] = [
    await microsPerCall(() => ours(body), calls),
    await microsPerCall(() => peer(body), calls),
    await microsPerCall(() => peerStreaming(body), Math.ceil(calls / 4)),
  ]
  console.log(`\n${count} image(s), ${mb.toFixed(1)} MB: same parts and bytes: ${same ? 'yes' : 'NO'}`)
  console.log(ratioRow('  throughput (MB/s)', 'MB/s', ['ours', mb / (ourMicros / 1e6)], ['peer', mb / (peerMicros / 1e6)]))
  console.log(ratioRow('  throughput, peer streaming 64 KiB chunks', 'MB/s', ['ours', mb / (ourMicros / 1e6)], ['peer', mb / (streamMicros / 1e6)]))
  console.log(
    ratioRow(
      '  JS heap allocated per parse',
      'B',
      ['ours', await heapBytesPerCall(() => ours(body), 50)],
      ['peer', await heapBytesPerCall(() => peer(body), 50)],
    ),
  )
  const ourKept = await keptBufferBytes(() => ours(body), 10)
  console.log(keptRow('  ArrayBuffer bytes kept per parse', ourKept, await keptBufferBytes(() => peer(body), 10)))
  console.log(keptRow('  ArrayBuffer bytes kept, peer streaming', ourKept, await keptBufferBytes(() => peerStreaming(body), 10)))
}

const part = (headers: string, data = 'x') => `--${BOUNDARY}\r\n${headers}\r\n\r\n${data}\r\n`
const good = `${part('Content-Disposition: form-data; name="image"; filename="a.jpg"', 'JPEGDATA')}--${BOUNDARY}--\r\n`
const malformed: Record<string, string> = {
  'well-formed (must be accepted)': good,
  'preamble before the first boundary (RFC 2046: ignore)': `preamble\r\n${good}`,
  'no closing boundary': part('Content-Disposition: form-data; name="image"; filename="a.jpg"', 'JPEGDATA'),
  'part without Content-Disposition': `${part('Content-Type: image/jpeg')}--${BOUNDARY}--\r\n`,
  'Content-Disposition without name': `${part('Content-Disposition: form-data; filename="a.jpg"')}--${BOUNDARY}--\r\n`,
  'cut inside a part': good.slice(0, good.indexOf('JPEGDATA') + 4),
  'cut inside the headers': good.slice(0, 40),
  'boundary absent from the body': 'just some bytes\r\n',
}
const outcome = (parse: () => unknown) => {
  try {
    parse()
    return 'accepted'
  } catch (error) {
    return `refused (${(error as Error).message.slice(0, 60)})`
  }
}
console.log('\nmalformed bodies:')
for (const [name, text] of Object.entries(malformed)) {
  const body = encoder.encode(text) as Uint8Array<ArrayBuffer>
  console.log(`  ${name.padEnd(54)} ours: ${outcome(() => ours(body)).padEnd(74)} peer: ${outcome(() => peer(body))}`)
}
