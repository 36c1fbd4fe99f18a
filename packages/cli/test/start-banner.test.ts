import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { anyApiKeyEverCreated, createApiKey, createDb, revokeApiKey } from '@genimage/shared/db'
import { afterAll, describe, expect, it } from 'vitest'
import { KEY_HEADER, keysAtStart, startBanner } from '../src/start-banner.ts'

const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

const facts = {
  edgeUrl: 'http://127.0.0.1:8787',
  runnerUrl: 'http://127.0.0.1:8788',
  database: 'file:./data/genimage.db',
  models: ['npr-tiny-mini-attribution', 'npr-tiny-mini'],
  samplePhoto: 'photo.jpg',
}

describe('the `genimage start` banner', () => {
  it('names the web console and, once keys are required, sends the key header the edge reads in every curl', () => {
    const lines = startBanner({ ...facts, keys: 'required' })
    expect(lines).toContain('Web console: http://127.0.0.1:8787/')
    expect(lines).toContain('  curl -s -H "Authorization: Bearer $GENIMAGE_API_KEY" -F image=@photo.jpg http://127.0.0.1:8787/v1/detect')
    expect(lines).toContain('  curl -s -H "Authorization: Bearer $GENIMAGE_API_KEY" http://127.0.0.1:8787/v1/models')
    expect(lines.join('\n')).toMatch(/requires an API key: export GENIMAGE_API_KEY=/)
    expect(lines).toContain('Serving: npr-tiny-mini-attribution, npr-tiny-mini')
  })

  it('prints plain curl commands while no key is needed, saying what to add once one exists', () => {
    const later = startBanner({ ...facts, keys: 'later' })
    expect(later).toContain('  curl -s -F image=@photo.jpg http://127.0.0.1:8787/v1/detect')
    expect(later.join('\n')).toContain(`add ${KEY_HEADER}`)
    const off = startBanner({ ...facts, keys: 'off', models: [] })
    expect(off.join('\n')).not.toContain('Authorization')
    expect(off.join('\n')).toMatch(/No detector is loaded/)
  })

  it('decides as the edge does: REQUIRE_API_KEY=true/false, or auto once a key was ever created (revoked ones too)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'start-banner-'))
    dirs.push(dir)
    const db = await createDb(`file:${join(dir, 'genimage.db')}`)
    expect(keysAtStart(undefined, await anyApiKeyEverCreated(db))).toBe('later')
    const key = await createApiKey(db, { name: 'first', scopes: ['detect'] })
    await revokeApiKey(db, key.id)
    expect(keysAtStart('auto', await anyApiKeyEverCreated(db))).toBe('required')
    expect(keysAtStart('true', false)).toBe('required')
    expect(keysAtStart('false', true)).toBe('off')
    db.$client.close()
  })
})
