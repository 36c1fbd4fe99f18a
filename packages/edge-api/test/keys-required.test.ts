import { ErrorResponse } from '@genimage/shared'
import { createApiKey, revokeApiKey } from '@genimage/shared/db'
import { describe, expect, it } from 'vitest'
import { libsqlKeyStore } from '../src/store/libsql-keys.ts'
import { edgeWith, form, JPEG_8x8, oipPeer } from './fixtures.ts'

type App = { request: (path: string, init?: RequestInit) => Response | Promise<Response> }
const detect = (app: App, headers: Record<string, string> = {}) =>
  app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8 }]), headers })
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` })
const code = async (res: Response) => ErrorResponse.parse(await res.json()).error.code

describe('REQUIRE_API_KEY=auto does not fail open (issue 14 item 9)', () => {
  it('refuses anonymous calls from the moment the first key exists, with no grace window', async () => {
    // The clock never moves: a cached "no keys" answer would let the next anonymous call through.
    const { app, db } = await edgeWith({ r1: oipPeer() }, {}, { clock: () => 0 })
    expect((await detect(app)).status).toBe(200)
    expect((await detect(app)).status).toBe(200)
    await createApiKey(db, { name: 'first', scopes: ['detect'] })
    const anonymous = await detect(app)
    expect(anonymous.status).toBe(401)
    expect(await code(anonymous)).toBe('unauthorized')
  })

  it('keeps requiring keys after the only key is revoked, at once', async () => {
    const { app, db, rows } = await edgeWith({ r1: oipPeer() }, {}, { clock: () => 0 })
    const only = await createApiKey(db, { name: 'only', scopes: ['detect'] })
    expect((await detect(app, bearer(only.secret))).status).toBe(200)
    await revokeApiKey(db, only.id)
    expect((await detect(app)).status).toBe(401)
    expect((await detect(app, bearer(only.secret))).status).toBe(401)
    expect((await app.request('/metrics')).status).toBe(401)
    expect(await rows()).toHaveLength(1)
  })

  it('an edge started after every key was revoked still requires keys', async () => {
    const first = await edgeWith({ r1: oipPeer() })
    const key = await createApiKey(first.db, { name: 'gone', scopes: ['detect'] })
    await revokeApiKey(first.db, key.id)
    const restarted = await edgeWith({ r1: oipPeer() }, {}, { keys: libsqlKeyStore(first.db) })
    expect((await detect(restarted.app)).status).toBe(401)
  })
})

describe('the metrics scope and METRICS_TOKEN (issue 15 item 3)', () => {
  it('lets a metrics-only key scrape /metrics and nothing else', async () => {
    const { app, db } = await edgeWith({ r1: oipPeer() })
    const scraper = await createApiKey(db, { name: 'prometheus', scopes: ['metrics'] })
    const scrape = await app.request('/metrics', { headers: bearer(scraper.secret) })
    expect(scrape.status).toBe(200)
    expect(await scrape.text()).toMatch(/# TYPE /)
    const detectCall = await detect(app, bearer(scraper.secret))
    expect(detectCall.status).toBe(403)
    expect(await code(detectCall)).toBe('forbidden')
    expect((await app.request('/v1/models', { headers: bearer(scraper.secret) })).status).toBe(403)
    expect((await app.request('/metrics')).status).toBe(401)
  })

  it('accepts METRICS_TOKEN on /metrics only, once keys exist', async () => {
    const token = 'scrape-token-0123456789'
    const { app, db } = await edgeWith({ r1: oipPeer() }, { metricsToken: token })
    await createApiKey(db, { name: 'ci', scopes: ['detect'] })
    expect((await app.request('/metrics', { headers: bearer(token) })).status).toBe(200)
    expect((await app.request('/metrics', { headers: bearer('scrape-token-wrong-0000') })).status).toBe(401)
    expect((await detect(app, bearer(token))).status).toBe(401)
  })
})
