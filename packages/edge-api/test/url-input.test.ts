import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { DetectResponse, ErrorResponse } from '@genimage/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPinnedFetch } from '../src/entries/node-pinned-fetch.ts'
import { nodeResolveHost } from '../src/entries/node-resolver.ts'
import { isPublicAddress } from '../src/inputs/ip-ranges.ts'
import { edgeWith, form, oipPeer, PNG_8x8 } from './fixtures.ts'

/** A real HTTP server on 127.0.0.1 serving a PNG: the target an SSRF would aim at. */
let server: Server
let port = 0
const hits: string[] = []
beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '')
    if (req.url === '/moved') res.writeHead(302, { location: '/a.png' }).end()
    else res.writeHead(200, { 'content-type': 'image/png' }).end(PNG_8x8)
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  port = (server.address() as AddressInfo).port
})
afterAll(() => new Promise<void>((done) => server.close(() => done())))

const PUBLIC = '93.184.216.34'
const publicDns = (table: Record<string, string[]>) => async (host: string) => {
  const found = table[host]
  if (!found) throw new Error(`ENOTFOUND ${host}`)
  return found
}
/** Sends allowed fetches to the local server (standing in for the internet) and answers some paths itself. */
const internetVia = (routes: Record<string, () => Response> = {}) =>
  (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    const route = routes[`${url.host}${url.pathname}`]
    if (route) return route()
    return fetch(`http://127.0.0.1:${port}${url.pathname}`, init)
  }) as typeof fetch

const withUrl = (url: string) => form([{ name: 'url', value: url }])
const post = (app: { request: (p: string, i: RequestInit) => Response | Promise<Response> }, body: FormData) =>
  app.request('/v1/detect', { method: 'POST', body })
const failure = async (res: Response) => ({ status: res.status, code: ErrorResponse.parse(await res.json()).error.code })

describe('url input', () => {
  it('is refused unless the deployment enables it', async () => {
    const { app } = await edgeWith({ r1: oipPeer() }, {}, { resolveHost: nodeResolveHost })
    expect(await failure(await post(app, withUrl(`http://127.0.0.1:${port}/a.png`)))).toEqual({ status: 400, code: 'url_not_allowed' })
  })

  it('refuses loopback addresses of a real server, literal or after DNS resolution, without connecting', async () => {
    const { app, rows } = await edgeWith({ r1: oipPeer() }, { allowUrlInput: true }, { resolveHost: nodeResolveHost })
    const before = hits.length
    for (const url of [
      `http://127.0.0.1:${port}/a.png`,
      `http://localhost:${port}/a.png`,
      `http://2130706433:${port}/a.png`,
      `http://[::ffff:127.0.0.1]:${port}/a.png`,
      `http://[::1]:${port}/a.png`,
    ]) {
      expect({ url, ...(await failure(await post(app, withUrl(url)))) }).toEqual({ url, status: 400, code: 'url_not_allowed' })
    }
    expect(hits.length).toBe(before)
    expect(await rows()).toHaveLength(0)
  })

  it('fetches and scores an image from a public address', async () => {
    const { app, rows } = await edgeWith(
      { r1: oipPeer() },
      { allowUrlInput: true },
      {
        resolveHost: publicDns({ 'images.example': [PUBLIC] }),
        fetchUrl: internetVia(),
      },
    )
    const before = hits.length
    const res = await post(app, withUrl('http://images.example/cat.png'))
    expect(res.status).toBe(200)
    const body = DetectResponse.parse(await res.json())
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', PNG_8x8))
    expect(body.images[0]?.sha256).toBe(Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''))
    expect(hits.slice(before)).toEqual(['/cat.png'])
    expect(await rows()).toHaveLength(1)
  })

  it('refuses a host whose DNS answer includes a private address, and redirects to loopback or private hosts', async () => {
    const redirect = (location: string) => () => new Response(null, { status: 302, headers: { location } })
    const { app } = await edgeWith(
      { r1: oipPeer() },
      { allowUrlInput: true },
      {
        resolveHost: publicDns({ 'images.example': [PUBLIC], 'mixed.example': [PUBLIC, '10.1.2.3'], 'intranet.example': ['fd00::5'] }),
        fetchUrl: internetVia({
          'images.example/to-loopback': redirect(`http://127.0.0.1:${port}/a.png`),
          'images.example/to-intranet': redirect('http://intranet.example/a.png'),
          'images.example/to-metadata': redirect('http://169.254.169.254/latest/meta-data'),
          'images.example/loop': redirect('/loop'),
        }),
      },
    )
    const before = hits.length
    expect(await failure(await post(app, withUrl('http://mixed.example/a.png')))).toEqual({ status: 400, code: 'url_not_allowed' })
    for (const path of ['to-loopback', 'to-intranet', 'to-metadata']) {
      expect(await failure(await post(app, withUrl(`http://images.example/${path}`)))).toEqual({ status: 400, code: 'url_not_allowed' })
    }
    expect(await failure(await post(app, withUrl('http://images.example/loop')))).toEqual({ status: 422, code: 'url_fetch_failed' })
    expect(await failure(await post(app, withUrl('ftp://images.example/a.png')))).toMatchObject({ status: 400 })
    expect(hits.length).toBe(before)
  })

  it('cuts off a body over the byte limit and a body slower than the deadline', async () => {
    const endless = () => new Response(new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(1024)) }), { headers: { 'content-type': 'image/png' } })
    const stalled = () => new Response(new ReadableStream({ start: (c) => c.enqueue(PNG_8x8.slice(0, 10)) }))
    const { app } = await edgeWith(
      { r1: oipPeer() },
      { allowUrlInput: true, maxRequestBytes: 64 * 1024, urlFetchTimeoutMs: 300 },
      {
        resolveHost: publicDns({ 'images.example': [PUBLIC] }),
        fetchUrl: internetVia({ 'images.example/huge': endless, 'images.example/slow': stalled }),
      },
    )
    expect(await failure(await post(app, withUrl('http://images.example/huge')))).toEqual({ status: 413, code: 'payload_too_large' })
    const started = performance.now()
    expect(await failure(await post(app, withUrl('http://images.example/slow')))).toEqual({ status: 422, code: 'url_fetch_failed' })
    expect(performance.now() - started).toBeLessThan(2_000)
  })
})

describe('createPinnedFetch (Node and Deno entries)', () => {
  it("refuses in the connection's own DNS lookup, so a name that first resolved public cannot reach loopback", async () => {
    const rebinding = publicDns({ localhost: [PUBLIC] })
    const { app } = await edgeWith({ r1: oipPeer() }, { allowUrlInput: true }, { resolveHost: rebinding, fetchUrl: createPinnedFetch() })
    const before = hits.length
    const res = await post(app, withUrl(`http://localhost:${port}/a.png`))
    expect(res.status).toBe(400)
    expect(ErrorResponse.parse(await res.json()).error).toMatchObject({ code: 'url_not_allowed', details: { host: 'localhost' } })
    expect(hits.length).toBe(before)
  })

  it('streams bodies and hands redirects back unfollowed to addresses it allows', async () => {
    const loopbackAllowed = createPinnedFetch((address) => address === '127.0.0.1' || address === '::1')
    const image = await loopbackAllowed(`http://localhost:${port}/a.png`, { headers: { accept: 'image/*' } })
    expect(image.status).toBe(200)
    expect(image.headers.get('content-type')).toBe('image/png')
    expect(new Uint8Array(await image.arrayBuffer())).toEqual(PNG_8x8)
    const moved = await loopbackAllowed(`http://localhost:${port}/moved`)
    expect([moved.status, moved.headers.get('location')]).toEqual([302, '/a.png'])
  })
})

describe('isPublicAddress', () => {
  it('refuses loopback, private, link-local, unique-local and mapped forms; allows public addresses', () => {
    const refused = [
      '127.0.0.1',
      '127.255.0.9',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '64:ff9b::a00:1',
      '2002:a00:1::',
      'not-an-ip',
      '1.2.3',
    ]
    const allowed = ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808']
    expect(refused.filter(isPublicAddress)).toEqual([])
    expect(allowed.filter((a) => !isPublicAddress(a))).toEqual([])
  })
})
