import { existsSync } from 'node:fs'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'

/** What a raw HTTP/1.1 exchange came back with: the status (0 when the socket closed first) and the body text. */
export interface RawAnswer {
  status: number
  body: string
  /** Milliseconds from the first byte sent to the answer (or the close). */
  ms: number
}

/** Opens a TCP connection to an `http://host:port` URL. */
export function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Resolves with the first HTTP answer on `socket` (status line and body), or status 0 when it closes without one. */
export function readAnswer(socket: Socket, started = performance.now()): Promise<RawAnswer> {
  return new Promise((resolve) => {
    let text = ''
    let settled = false
    const done = (status: number, body: string) => {
      if (settled) return
      settled = true
      resolve({ status, body, ms: performance.now() - started })
    }
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1')
      const headEnd = text.indexOf('\r\n\r\n')
      if (headEnd < 0) return
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, headEnd))?.[1] ?? Number.NaN)
      const body = text.slice(headEnd + 4)
      if (Number.isFinite(length) && Buffer.byteLength(body, 'latin1') >= length) done(status, body.slice(0, length))
    })
    socket.on('error', () => {})
    socket.once('close', () => done(0, ''))
  })
}

/** Request head of a multipart POST /v1/detect declaring `contentLength` body bytes. */
export function detectHead(url: string, contentLength: number, boundary = 'attack'): string {
  const { host } = new URL(url)
  return [
    'POST /v1/detect HTTP/1.1',
    `Host: ${host}`,
    `Content-Type: multipart/form-data; boundary=${boundary}`,
    `Content-Length: ${contentLength}`,
    '',
    '',
  ].join('\r\n')
}

/**
 * A slow-body attacker: sends a detect request's head and then one body byte every `intervalMs`, never finishing,
 * until the server answers or closes. Resolves with what the server did; after `giveUpMs` without either, it closes
 * the socket itself and resolves with status -1 (the server would have let it trickle on).
 */
export async function trickle(url: string, intervalMs = 500, giveUpMs = 10_000): Promise<RawAnswer> {
  const socket = await openSocket(url)
  const started = performance.now()
  const answer = readAnswer(socket, started)
  const giveUp = setTimeout(() => {
    socket.destroy()
  }, giveUpMs)
  socket.write(detectHead(url, 200_000))
  socket.write('--attack\r\n')
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write('x')
  }, intervalMs)
  const result = await answer
  clearInterval(timer)
  clearTimeout(giveUp)
  socket.destroy()
  return performance.now() - started >= giveUpMs ? { ...result, status: -1 } : result
}

/**
 * A 16-bit RGB PNG of `side`² pixels (flat colour): a few hundred KB on the wire, about a second of CPU to decode at
 * 6320² — the heavy, legal image of issue 14. Encoding it takes seconds, so it is kept in the temp folder.
 */
export async function heavyPng(side = 6320): Promise<Uint8Array> {
  const cached = join(tmpdir(), `genimage-heavy-${side}-rgb16.png`)
  if (existsSync(cached)) return new Uint8Array(await readFile(cached))
  const png = await sharp({ create: { width: side, height: side, channels: 3, background: { r: 120, g: 80, b: 200 } } })
    .toColourspace('rgb16')
    .png({ compressionLevel: 9 })
    .toBuffer()
  await writeFile(`${cached}.${process.pid}`, png)
  await rename(`${cached}.${process.pid}`, cached)
  return new Uint8Array(png)
}

/** One metric's value from Prometheus text, matching a name and label fragment (0 when absent). */
export function metricValue(text: string, name: string, labelFragment = ''): number {
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue
    const rest = line.slice(name.length)
    if (!(rest.startsWith('{') || rest.startsWith(' '))) continue
    if (labelFragment && !rest.includes(labelFragment)) continue
    total += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return total
}
