import { ErrorResponse } from '@genimage/shared'
import { apiKeys, createApiKey, listApiKeys, revokeApiKey } from '@genimage/shared/db'
import { describe, expect, it } from 'vitest'
import { edgeWith, form, JPEG_8x8, oipPeer } from './fixtures.ts'

type App = { request: (path: string, init?: RequestInit) => Response | Promise<Response> }
const detect = (app: App, headers: Record<string, string> = {}) =>
  app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8 }]), headers })
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` })
const code = async (res: Response) => ErrorResponse.parse(await res.json()).error.code

describe('API keys in the database', () => {
  it('stores only the sha256 of the secret and lists keys without it', async () => {
    const { db } = await edgeWith({})
    const key = await createApiKey(db, { name: 'moderation', scopes: ['detect'], rateLimitPerMinute: 60 })
    expect(key.secret).toMatch(/^gik_[\w-]{43}$/)
    const [row] = await db.select().from(apiKeys)
    expect(JSON.stringify(row)).not.toContain(key.secret)
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key.secret)))
    expect(row?.secretHash).toBe(Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''))
    const listed = await listApiKeys(db)
    expect(listed).toHaveLength(1)
    expect(JSON.stringify(listed)).not.toContain(key.secret)
    expect(listed[0]).toMatchObject({ id: key.id, name: 'moderation', scopes: ['detect'], rate_limit_per_minute: 60, revoked_at: null })
  })

  it('refuses unknown scopes and bad rate limits with a message', async () => {
    const { db } = await edgeWith({})
    await expect(createApiKey(db, { name: 'x', scopes: ['root'] })).rejects.toThrow(/unknown scope "root"/)
    await expect(createApiKey(db, { name: 'x', scopes: ['detect'], rateLimitPerMinute: 0 })).rejects.toThrow(/rate limit/)
    await expect(createApiKey(db, { name: ' ', scopes: ['detect'] })).rejects.toThrow(/name/)
  })
})

describe('apiKeyAuth on /v1/detect', () => {
  it('lets anonymous requests through while no key exists (REQUIRE_API_KEY=auto)', async () => {
    const { app, rows } = await edgeWith({ r1: oipPeer() })
    expect((await detect(app)).status).toBe(200)
    expect((await rows())[0]?.apiKeyId).toBe(null)
  })

  it('requires a key once one exists, accepts Bearer and x-api-key, and records the key id on the detection', async () => {
    const { app, db, rows } = await edgeWith({ r1: oipPeer() }, {}, { clock: () => 0 })
    const key = await createApiKey(db, { name: 'ci', scopes: ['detect'] })
    const missing = await detect(app)
    expect(missing.status).toBe(401)
    expect(await code(missing)).toBe('unauthorized')
    expect((await detect(app, bearer(key.secret))).status).toBe(200)
    expect((await detect(app, { 'x-api-key': key.secret })).status).toBe(200)
    expect((await rows()).map((r) => r.apiKeyId)).toEqual([key.id, key.id])
  })

  it('always requires a key with apiKeys=required, and never with optional (but checks a presented one)', async () => {
    const required = await edgeWith({ r1: oipPeer() }, { apiKeys: 'required' })
    expect((await detect(required.app)).status).toBe(401)
    const optional = await edgeWith({ r1: oipPeer() }, { apiKeys: 'optional' })
    await createApiKey(optional.db, { name: 'ci', scopes: ['detect'] })
    expect((await detect(optional.app)).status).toBe(200)
    expect((await detect(optional.app, bearer('gik_not-a-key'))).status).toBe(401)
  })

  it('answers 401 for unknown and revoked keys and 403 for a key without the scope', async () => {
    const { app, db, rows } = await edgeWith({ r1: oipPeer() })
    const experiments = await createApiKey(db, { name: 'lab', scopes: ['experiments'] })
    const admin = await createApiKey(db, { name: 'ops', scopes: ['admin'] })
    const revoked = await createApiKey(db, { name: 'old', scopes: ['detect'] })
    await revokeApiKey(db, revoked.id)
    expect(await code(await detect(app, bearer('gik_unknown')))).toBe('unauthorized')
    const forbidden = await detect(app, bearer(experiments.secret))
    expect(forbidden.status).toBe(403)
    expect(await code(forbidden)).toBe('forbidden')
    const gone = await detect(app, bearer(revoked.secret))
    expect(gone.status).toBe(401)
    expect(ErrorResponse.parse(await gone.json()).error.message).toMatch(/revoked/)
    expect((await detect(app, bearer(admin.secret))).status).toBe(200)
    expect(await rows()).toHaveLength(1)
  })

  it('guards /metrics with the admin scope and leaves /healthz and /openapi.json public', async () => {
    const { app, db } = await edgeWith({ r1: oipPeer() })
    const detector = await createApiKey(db, { name: 'ci', scopes: ['detect'] })
    const admin = await createApiKey(db, { name: 'ops', scopes: ['admin'] })
    expect((await app.request('/metrics')).status).toBe(401)
    expect((await app.request('/metrics', { headers: bearer(detector.secret) })).status).toBe(403)
    expect((await app.request('/metrics', { headers: bearer(admin.secret) })).status).toBe(200)
    expect((await app.request('/healthz')).status).toBe(200)
    expect((await app.request('/openapi.json')).status).toBe(200)
  })
})

describe('per-key rate limits', () => {
  it('answers 429 rate_limited with Retry-After once a key spends its minute, and refills over time', async () => {
    let now = 1_000_000
    const { app, db, rows } = await edgeWith({ r1: oipPeer() }, {}, { clock: () => now })
    const key = await createApiKey(db, { name: 'small', scopes: ['detect'], rateLimitPerMinute: 3 })
    const other = await createApiKey(db, { name: 'other', scopes: ['detect'], rateLimitPerMinute: 3 })
    for (let i = 0; i < 3; i++) expect((await detect(app, bearer(key.secret))).status).toBe(200)
    const limited = await detect(app, bearer(key.secret))
    expect(limited.status).toBe(429)
    expect(await code(limited)).toBe('rate_limited')
    expect(limited.headers.get('retry-after')).toBe('20')
    expect((await detect(app, bearer(other.secret))).status).toBe(200)
    now += 20_000
    expect((await detect(app, bearer(key.secret))).status).toBe(200)
    expect(await rows()).toHaveLength(5)
  })
})
