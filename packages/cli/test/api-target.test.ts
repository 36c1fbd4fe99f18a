import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hintCommand, readSavedApiKey, resolveApiTarget, resolveApiUrl, saveApiKey, savedKeyPath } from '../src/api-target.ts'

let dir = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'api-target-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('which edge API a command talks to', () => {
  it('takes --api, else GENIMAGE_API, else PORT on HOST, else 127.0.0.1:8787', () => {
    expect(resolveApiUrl('http://edge:9000/', { GENIMAGE_API: 'http://other', PORT: '1' })).toEqual({ baseUrl: 'http://edge:9000', urlFrom: 'flag' })
    expect(resolveApiUrl(undefined, { GENIMAGE_API: 'http://api.example/', PORT: '1' })).toEqual({ baseUrl: 'http://api.example', urlFrom: 'GENIMAGE_API' })
    expect(resolveApiUrl(undefined, { PORT: '9100' }).baseUrl).toBe('http://127.0.0.1:9100')
    expect(resolveApiUrl(undefined, { PORT: '9100', HOST: '0.0.0.0' }).baseUrl).toBe('http://127.0.0.1:9100')
    expect(resolveApiUrl(undefined, { PORT: '9100', HOST: '::' }).baseUrl).toBe('http://[::1]:9100')
    expect(resolveApiUrl(undefined, { PORT: '9100', HOST: '10.0.0.5' }).baseUrl).toBe('http://10.0.0.5:9100')
    expect(resolveApiUrl(undefined, {})).toEqual({ baseUrl: 'http://127.0.0.1:8787', urlFrom: 'default' })
  })

  it('prints --api in hints only when the URL is not the default', () => {
    expect(hintCommand({ baseUrl: 'http://127.0.0.1:8787' }, 'report e1')).toBe('npx genimage report e1')
    expect(hintCommand({ baseUrl: 'http://127.0.0.1:9100' }, 'report e1')).toBe('npx genimage report e1 --api http://127.0.0.1:9100')
  })

  it('sends --api-key, else GENIMAGE_API_KEY, else the key `keys create --save` wrote (mode 0600)', async () => {
    const env = { GENIMAGE_CONFIG: join(dir, 'nested', 'key.json') }
    expect(savedKeyPath(env)).toBe(env.GENIMAGE_CONFIG)
    expect(savedKeyPath({ XDG_CONFIG_HOME: '/cfg' })).toBe('/cfg/genimage/api-key.json')
    expect(await resolveApiTarget({}, env)).toMatchObject({ keyFrom: 'none' })
    await saveApiKey({ secret: 'gk_saved', id: 'k1', name: 'me', scopes: ['experiments'], savedAt: '2026-12-03T00:00:00Z' }, env)
    expect((await stat(env.GENIMAGE_CONFIG)).mode & 0o777).toBe(0o600)
    expect(await resolveApiTarget({}, env)).toMatchObject({ apiKey: 'gk_saved', keyFrom: 'config' })
    expect(await resolveApiTarget({}, { ...env, GENIMAGE_API_KEY: 'gk_env' })).toMatchObject({ apiKey: 'gk_env', keyFrom: 'GENIMAGE_API_KEY' })
    expect(await resolveApiTarget({ apiKey: 'gk_flag' }, env)).toMatchObject({ apiKey: 'gk_flag', keyFrom: 'flag' })
  })

  it('names the file when it is not a saved key', async () => {
    const path = join(dir, 'wrong.json')
    await writeFile(path, '{"hello": 1}')
    await expect(readSavedApiKey({ GENIMAGE_CONFIG: path })).rejects.toThrow(`${path} holds no API key`)
  })
})
