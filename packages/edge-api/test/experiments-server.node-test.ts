import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningEdge, startEdge } from '../src/entries/node-server.ts'

let dir = ''
let edge: RunningEdge

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-edge-server-'))
  edge = await startEdge({ PORT: '0', DATABASE_URL: `file:${join(dir, 'edge.db')}`, RUNNER_URLS: '', RUNNER_REGISTRY: 'false', LOG_LEVEL: 'silent' })
})
afterAll(async () => {
  await edge?.close()
  await rm(dir, { recursive: true, force: true })
})

/** Sends raw request bytes and resolves with what the server wrote back before `ms` passed (or it closed). */
function rawExchange(request: string, ms: number): Promise<string> {
  const { hostname, port } = new URL(edge.url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    let answer = ''
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(done, ms)
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1')
      if (answer.includes('\r\n\r\n') && answer.includes('}')) done()
    })
    socket.on('error', done)
    socket.on('close', done)
    socket.write(request)
  })
}

describe('POST /v1/experiments on a real server (issue 14 items 4 and 8)', () => {
  it('answers a declared 30 MiB body with 413 at once, before the body arrives', async () => {
    const started = performance.now()
    const answer = await rawExchange(
      `POST /v1/experiments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${30 * 1024 * 1024}\r\n\r\n{"protocol":`,
      5_000,
    )
    expect(answer.startsWith('HTTP/1.1 413')).toBe(true)
    expect(answer).toContain('payload_too_large')
    expect(performance.now() - started).toBeLessThan(2_000)
  })

  it('refuses text/plain (415) and a foreign Origin (403): what a web page can send without a preflight', async () => {
    const spec = JSON.stringify({ protocol: 'table3', models: ['npr-tiny'], dataRoot: '/data/mini', generators: ['SD_V1.4', 'ADM'] })
    const plain = await fetch(`${edge.url}/v1/experiments`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: spec })
    expect(plain.status).toBe(415)
    const foreign = await fetch(`${edge.url}/v1/experiments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: spec,
    })
    expect(foreign.status).toBe(403)
    const listed = (await (await fetch(`${edge.url}/v1/experiments`)).json()) as { experiments: unknown[] }
    expect(listed.experiments).toHaveLength(0)
    expect((await fetch(`${edge.url}/v1/experiments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: spec })).status).toBe(201)
  })
})
