import { consoleBuild } from '@genimage/console'
import { describe, expect, it } from 'vitest'
import { CONSOLE_CSP } from '../src/routes/console.ts'
import { edgeWith, oipPeer } from './fixtures.ts'

/** The console's whole download (page, script, stylesheet) gzipped must stay under this (issue 16). */
const CONSOLE_GZIP_BUDGET = 150 * 1024

describe('the web console served by the edge', () => {
  it('serves the page at / with a strict CSP, nosniff, no caching, and the deployment settings as data', async () => {
    const { app } = await edgeWith({ r1: oipPeer() }, { allowUrlInput: true })
    const res = await app.request('/')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP)
    expect(CONSOLE_CSP).toContain("script-src 'self'")
    expect(CONSOLE_CSP).not.toContain('unsafe-inline')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    const html = await res.text()
    expect(html).toContain('<div id="app">')
    expect(html).toContain('"allowUrlInput":true')
    expect(html).not.toMatch(/<script>(?!\s*<\/script>)/)
  })

  it('serves the fingerprinted script and stylesheet with their types and a year of caching; other paths are 404 JSON', async () => {
    const { app } = await edgeWith({ r1: oipPeer() })
    const html = await (await app.request('/')).text()
    const script = /src="(\/console\/console\.[0-9a-f]{12}\.js)"/.exec(html)?.[1]
    const stylesheet = /href="(\/console\/console\.[0-9a-f]{12}\.css)"/.exec(html)?.[1]
    expect(script).toBeDefined()
    expect(stylesheet).toBeDefined()
    const js = await app.request(script!)
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(js.headers.get('x-content-type-options')).toBe('nosniff')
    expect((await js.text()).length).toBeGreaterThan(1000)
    expect((await app.request(stylesheet!)).headers.get('content-type')).toBe('text/css; charset=utf-8')
    const missing = await app.request('/console/console.000000000000.js')
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found')
  })

  it('leaves the API where it was: /v1/*, /healthz and /openapi.json still answer JSON', async () => {
    const { app } = await edgeWith({ r1: oipPeer() })
    for (const path of ['/v1/models', '/healthz', '/openapi.json']) {
      const res = await app.request(path)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    }
  })

  it('stays under 150 KB gzipped in all', () => {
    expect(consoleBuild.gzipBytes).toBeGreaterThan(10_000)
    expect(consoleBuild.gzipBytes).toBeLessThan(CONSOLE_GZIP_BUDGET)
  })
})
