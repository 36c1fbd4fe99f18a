import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiKeyListResponse, CreatedApiKey, ErrorResponse, RevokedApiKey } from '@genimage/shared'
import { createApiKey, createDb, type Db } from '@genimage/shared/db'
import { afterAll, describe, expect, it } from 'vitest'
import { libsqlKeyStore } from '../src/store/libsql-keys.ts'
import { edgeWith, form, JPEG_8x8, oipPeer } from './fixtures.ts'

type App = Awaited<ReturnType<typeof edgeWith>>['app']

const folders: string[] = []
afterAll(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

/** An edge over a real libSQL file, as `genimage start` runs it. */
async function edgeOnFile(config = {}): Promise<{ app: App; db: Db }> {
  const folder = mkdtempSync(join(tmpdir(), 'keys-api-'))
  folders.push(folder)
  const db = await createDb(`file:${join(folder, 'genimage.db')}`)
  const { app } = await edgeWith({ r1: oipPeer() }, config, { keys: libsqlKeyStore(db) })
  return { app, db }
}

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` })
const code = async (res: Response) => ErrorResponse.parse(await res.json()).error.code
const createKey = (app: App, body: unknown, headers: Record<string, string> = {}) =>
  app.request('/v1/keys', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } })
const detect = (app: App, secret: string) =>
  app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8 }]), headers: bearer(secret) })

describe('key management over the API', () => {
  it('lets an admin key create, list and revoke keys; the secret is answered once and never listed', async () => {
    const { app, db } = await edgeOnFile()
    const admin = await createApiKey(db, { name: 'console', scopes: ['admin'] })

    const created = await createKey(app, { name: 'moderation', scopes: ['detect'], rate_limit_per_minute: 600 }, bearer(admin.secret))
    expect(created.status).toBe(201)
    expect(created.headers.get('cache-control')).toBe('no-store')
    const key = CreatedApiKey.parse(await created.json())
    expect(key).toMatchObject({ name: 'moderation', scopes: ['detect'], rate_limit_per_minute: 600, revoked_at: null })
    expect(key.secret.startsWith(key.prefix)).toBe(true)
    // The callback signing secret is a second secret, shown this once too, never usable as a key.
    expect(key.callback_secret).toMatch(/^gcs_[A-Za-z0-9_-]{43}$/)
    expect(key.callback_secret.slice(4)).not.toBe(key.secret.slice(4))
    expect((await detect(app, key.callback_secret)).status).toBe(401)
    expect((await detect(app, key.secret)).status).toBe(200)

    const listed = await app.request('/v1/keys', { headers: bearer(admin.secret) })
    expect(listed.status).toBe(200)
    const text = await listed.text()
    expect(text).not.toContain(key.secret)
    expect(text).not.toContain(key.callback_secret)
    expect(text).not.toContain(admin.secret)
    expect(text).not.toMatch(/secret|hash/i)
    const { keys } = ApiKeyListResponse.parse(JSON.parse(text))
    expect(keys.map((k) => k.name).sort()).toEqual(['console', 'moderation'])

    const revoked = await app.request(`/v1/keys/${key.id}/revoke`, { method: 'POST', headers: bearer(admin.secret) })
    expect(revoked.status).toBe(200)
    const summary = RevokedApiKey.parse(await revoked.json())
    expect(summary.id).toBe(key.id)
    // Effective at once: the very next request with the revoked secret is refused.
    const refused = await detect(app, key.secret)
    expect([refused.status, await code(refused)]).toEqual([401, 'unauthorized'])
    const again = await app.request(`/v1/keys/${key.id}/revoke`, { method: 'POST', headers: bearer(admin.secret) })
    expect(RevokedApiKey.parse(await again.json()).revoked_at).toBe(summary.revoked_at)
    const unknown = await app.request('/v1/keys/key_nope/revoke', { method: 'POST', headers: bearer(admin.secret) })
    expect([unknown.status, await code(unknown)]).toEqual([404, 'not_found'])
  })

  it('refuses keys without the admin scope (403) and callers without a key (401), even before any key exists', async () => {
    const fresh = await edgeOnFile()
    for (const res of [await fresh.app.request('/v1/keys'), await createKey(fresh.app, { name: 'me', scopes: ['admin'] })]) {
      expect([res.status, await code(res)]).toEqual([401, 'unauthorized'])
    }
    const optional = await edgeOnFile({ apiKeys: 'optional' })
    expect((await createKey(optional.app, { name: 'me', scopes: ['admin'] })).status).toBe(401)

    const { app, db } = await edgeOnFile()
    const detectOnly = await createApiKey(db, { name: 'ci', scopes: ['detect'] })
    const experimentsOnly = await createApiKey(db, { name: 'lab', scopes: ['experiments'] })
    for (const secret of [detectOnly.secret, experimentsOnly.secret]) {
      for (const res of [
        await app.request('/v1/keys', { headers: bearer(secret) }),
        await createKey(app, { name: 'escalate', scopes: ['admin'] }, bearer(secret)),
        await app.request(`/v1/keys/${detectOnly.id}/revoke`, { method: 'POST', headers: bearer(secret) }),
      ]) {
        expect([res.status, await code(res)]).toEqual([403, 'forbidden'])
      }
    }
    expect((await detect(app, detectOnly.secret)).status).toBe(200)
  })

  it('takes JSON only, checks the request, and refuses foreign origins on state-changing calls', async () => {
    const { app, db } = await edgeOnFile({ allowedOrigins: ['https://console.example'] })
    const admin = await createApiKey(db, { name: 'console', scopes: ['admin'] })
    const asForm = await app.request('/v1/keys', {
      method: 'POST',
      body: 'name=x&scopes=admin',
      headers: { ...bearer(admin.secret), 'content-type': 'text/plain' },
    })
    expect([asForm.status, await code(asForm)]).toEqual([415, 'unsupported_media_type'])
    for (const body of [
      { name: '', scopes: ['detect'] },
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['root'] },
      { name: 'x', scopes: ['detect'], secret: 'mine' },
    ]) {
      const res = await createKey(app, body, bearer(admin.secret))
      expect({ body, status: res.status, code: await code(res) }).toEqual({ body, status: 400, code: 'invalid_request' })
    }
    const foreign = await createKey(app, { name: 'x', scopes: ['detect'] }, { ...bearer(admin.secret), origin: 'https://evil.example' })
    expect([foreign.status, await code(foreign)]).toEqual([403, 'forbidden'])
    const fromConsole = await createKey(app, { name: 'x', scopes: ['detect'] }, { ...bearer(admin.secret), origin: 'https://console.example' })
    expect(fromConsole.status).toBe(201)
    const foreignRevoke = await app.request(`/v1/keys/${admin.id}/revoke`, {
      method: 'POST',
      headers: { ...bearer(admin.secret), origin: 'https://evil.example' },
    })
    expect(foreignRevoke.status).toBe(403)
    expect((await app.request('/v1/keys', { headers: bearer(admin.secret) })).status).toBe(200)
  })

  it('keeps keys required after the API revokes every key', async () => {
    const { app, db } = await edgeOnFile()
    const admin = await createApiKey(db, { name: 'console', scopes: ['admin'] })
    expect((await app.request(`/v1/keys/${admin.id}/revoke`, { method: 'POST', headers: bearer(admin.secret) })).status).toBe(200)
    const anonymous = await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8 }]) })
    expect(anonymous.status).toBe(401)
    expect((await app.request('/v1/keys', { headers: bearer(admin.secret) })).status).toBe(401)
  })

  it('is documented in the OpenAPI document', async () => {
    const { app } = await edgeOnFile()
    const document = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>
      components: { schemas: Record<string, unknown> }
    }
    expect(Object.keys(document.paths['/v1/keys'] ?? {}).sort()).toEqual(['get', 'post'])
    expect(Object.keys(document.paths['/v1/keys/{id}/revoke'] ?? {})).toEqual(['post'])
    const named = ['CreateApiKeyRequest', 'CreatedApiKey', 'ApiKeyListResponse', 'RevokedApiKey']
    expect(named.filter((name) => !(name in document.components.schemas))).toEqual([])
  })
})
