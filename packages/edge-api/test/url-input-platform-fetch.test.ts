import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ErrorResponse } from '@genimage/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPinnedFetch } from '../src/entries/node-pinned-fetch.ts'
import { edgeWith, form, oipPeer, PNG_8x8 } from './fixtures.ts'

/**
 * A real HTTP server on loopback that misbehaves the ways a hostile image host can: headers then a stalled body,
 * no headers at all, an endless body, a declared length over the limit, a connection cut mid-body.
 */
let server: Server
let port = 0
beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? ''
    if (path === '/silent') return
    if (path === '/declared-huge') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(50 * 1024 * 1024) })
      res.write(PNG_8x8.slice(0, 10))
      return
    }
    res.writeHead(200, { 'content-type': 'image/png' })
    res.write(PNG_8x8.slice(0, 10))
    if (path === '/stall') return
    if (path === '/broken') {
      setTimeout(() => res.socket?.destroy(), 20)
      return
    }
    if (path === '/endless') {
      const chunk = new Uint8Array(16 * 1024)
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
        if (!res.destroyed) res.once('drain', pump)
      }
      pump()
      return
    }
    res.end(PNG_8x8.slice(10))
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  port = (server.address() as AddressInfo).port
})
afterAll(() => {
  server.closeAllConnections()
  return new Promise<void>((done) => server.close(() => done()))
})

/** `localhost` stands in for a public host: the edge's own check is told it is public, the connection then reaches loopback. */
const pretendPublic = async () => ['93.184.216.34']
const TIMEOUT_MS = 400

const failure = async (res: Response) => ({ status: res.status, code: ErrorResponse.parse(await res.json()).error.code })

for (const [which, fetchUrl] of [
  ['the platform fetch (createApp default)', undefined],
  ['the pinned Node fetch', createPinnedFetch(() => true)],
] as const) {
  describe(`url input bodies through ${which}`, () => {
    const edge = () =>
      edgeWith(
        { r1: oipPeer() },
        { allowUrlInput: true, maxRequestBytes: 256 * 1024, urlFetchTimeoutMs: TIMEOUT_MS },
        { resolveHost: pretendPublic, ...(fetchUrl ? { fetchUrl } : {}) },
      )
    const detectUrl = async (path: string) => {
      const { app } = await edge()
      const started = performance.now()
      const res = await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'url', value: `http://localhost:${port}${path}` }]) })
      return { ...(await failure(res)), ms: performance.now() - started }
    }

    it('answers 422 url_fetch_failed at the deadline for a body that stalls or headers that never come', async () => {
      for (const path of ['/stall', '/silent']) {
        const { ms, ...answer } = await detectUrl(path)
        expect({ path, ...answer }).toEqual({ path, status: 422, code: 'url_fetch_failed' })
        expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50)
        expect(ms).toBeLessThan(TIMEOUT_MS + 1_500)
      }
    })

    it('answers 413 for an endless body and for a declared length over the limit, 422 for a connection cut mid-body', async () => {
      expect(await detectUrl('/endless')).toMatchObject({ status: 413, code: 'payload_too_large' })
      expect(await detectUrl('/declared-huge')).toMatchObject({ status: 413, code: 'payload_too_large' })
      expect(await detectUrl('/broken')).toMatchObject({ status: 422, code: 'url_fetch_failed' })
    })
  })
}
