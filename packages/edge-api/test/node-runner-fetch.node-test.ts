import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodeRunnerFetch } from '../src/entries/node-runner-fetch.ts'

describe('node runner fetch (edge → runner transport on Node)', () => {
  let server: Server
  let base: string
  let connections = 0
  const runnerFetch = createNodeRunnerFetch()

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        if (req.url === '/busy') {
          res.writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' }).end(JSON.stringify({ code: 'queue_full' }))
        } else if (req.url === '/slow') {
          setTimeout(() => res.end('{}'), 2_000)
        } else {
          const echo = { method: req.method, bytes: body.byteLength, first: body[0], type: req.headers['content-type'], id: req.headers['x-request-id'] }
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(echo))
        }
      })
    })
    server.on('connection', () => (connections += 1))
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  afterAll(async () => {
    runnerFetch.close()
    server.closeAllConnections()
    await new Promise((done) => server.close(done))
  })

  it('sends a binary body with its headers and returns the JSON answer', async () => {
    const body = new Uint8Array(70_000).fill(7)
    const res = await runnerFetch(`${base}/v2/models/m/infer`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream', 'x-request-id': 'req-1' },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ method: 'POST', bytes: 70_000, first: 7, type: 'application/octet-stream', id: 'req-1' })
  })

  it('answers with a Response whose body reads once, in every form, and then refuses', async () => {
    const body = new Uint8Array(3).fill(9)
    const expected = { method: 'POST', bytes: 3, first: 9, type: 'application/octet-stream' }
    const send = () => runnerFetch(`${base}/echo`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } })
    const asText = await send()
    expect(asText).toBeInstanceOf(Response)
    expect(asText.ok).toBe(true)
    expect(asText.headers.get('content-type')).toBe('application/json')
    expect(asText.bodyUsed).toBe(false)
    expect(JSON.parse(await asText.text())).toEqual(expected)
    expect(asText.bodyUsed).toBe(true)
    await expect(asText.json()).rejects.toThrow(/unusable/)
    const asBuffer = await send()
    expect(JSON.parse(new TextDecoder().decode(await asBuffer.arrayBuffer()))).toEqual(expected)
    const asBytes = await send()
    expect(JSON.parse(new TextDecoder().decode(await asBytes.bytes()))).toEqual(expected)
    const asBlob = await send()
    const blob = await asBlob.blob()
    expect(blob.type).toBe('application/json')
    expect(JSON.parse(await blob.text())).toEqual(expected)
    const busy = await runnerFetch(`${base}/busy`, { method: 'POST', body })
    expect(busy.status).toBe(429)
    expect(busy.headers.get('retry-after')).toBe('3')
    expect(await busy.json()).toEqual({ code: 'queue_full' })
  })

  it('keeps the connection to the runner alive between requests', async () => {
    const before = connections
    for (let i = 0; i < 5; i++) await (await runnerFetch(`${base}/v2/health/ready`, { method: 'GET' })).json()
    expect(connections - before).toBeLessThanOrEqual(1)
  })

  it('passes error statuses and headers through', async () => {
    const res = await runnerFetch(`${base}/busy`, { method: 'POST', body: '{}' })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('3')
    expect(await res.json()).toEqual({ code: 'queue_full' })
  })

  it('rejects with the signal reason when the runner does not answer in time', async () => {
    const started = performance.now()
    await expect(runnerFetch(`${base}/slow`, { method: 'GET', signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ name: 'TimeoutError' })
    expect(performance.now() - started).toBeLessThan(1_500)
  })

  it('rejects on a refused connection', async () => {
    const closed = createServer()
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done))
    const port = (closed.address() as AddressInfo).port
    await new Promise((done) => closed.close(done))
    await expect(runnerFetch(`http://127.0.0.1:${port}/v2/health/ready`)).rejects.toThrow(/ECONNREFUSED/)
  })
})
