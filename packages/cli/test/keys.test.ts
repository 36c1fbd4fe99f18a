import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDb, findApiKeyBySecretHash, hashApiKeySecret } from '@genimage/shared/db'
import { Command } from 'commander'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { registerKeysCommands } from '../src/commands/keys.ts'
import { requestsPerMinute } from '../src/options.ts'

let dir = ''
let databaseUrl = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keys-cli-'))
  databaseUrl = `file:${join(dir, 'db.sqlite')}`
})
afterAll(() => rm(dir, { recursive: true, force: true }))

/** Runs `genimage keys …` in process against the temp database and returns what it printed. */
async function keys(...args: string[]): Promise<{ out: string; exitCode: number | undefined }> {
  const lines: string[] = []
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')))
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')))
  const previous = { url: process.env.DATABASE_URL, exitCode: process.exitCode }
  process.env.DATABASE_URL = databaseUrl
  process.exitCode = undefined
  try {
    const program = new Command().exitOverride()
    registerKeysCommands(program)
    await program.parseAsync(['keys', ...args], { from: 'user' })
    return { out: lines.join('\n'), exitCode: process.exitCode as number | undefined }
  } finally {
    process.exitCode = previous.exitCode
    process.env.DATABASE_URL = previous.url
    log.mockRestore()
    error.mockRestore()
  }
}

describe('genimage keys', () => {
  it('creates a key, prints its secret once, lists it without the secret and revokes it', async () => {
    const created = await keys('create', '--name', 'moderation', '--scopes', 'detect,experiments', '--rate-limit', '10/s')
    const secret = /gik_[\w-]{43}/.exec(created.out)?.[0] as string
    expect(secret).toBeDefined()
    expect(created.out).toMatch(/rate limit=600\/min/)
    const db = await createDb(databaseUrl)
    const row = await findApiKeyBySecretHash(db, await hashApiKeySecret(secret))
    db.$client.close()
    expect(row?.scopes).toEqual(['detect', 'experiments'])
    const callbackSecret = /gcs_[\w-]{43}/.exec(created.out)?.[0]
    expect(callbackSecret).toBe(row?.callbackSecret)
    const listed = await keys('list')
    expect(listed.out).toContain(`${row?.id}  ${secret.slice(0, 12)}…  moderation`)
    expect(listed.out).not.toContain(secret)
    expect(listed.out).not.toContain(callbackSecret)
    expect(listed.out).toContain('active')
    expect((await keys('revoke', row?.id as string)).out).toMatch(/revoked key_/)
    expect((await keys('list')).out).toMatch(/revoked \d{4}-/)
  })

  it('refuses unknown ids and scopes with a message and a non-zero exit', async () => {
    const missing = await keys('revoke', 'key_nope')
    expect(missing.exitCode).toBe(1)
    expect(missing.out).toMatch(/no key with id key_nope/)
    await expect(keys('create', '--name', 'x', '--scopes', 'root')).rejects.toThrow(/unknown scope "root"/)
  })

  it('parses rate limits per second, minute and hour', () => {
    expect(requestsPerMinute('600')).toBe(600)
    expect(requestsPerMinute('600/min')).toBe(600)
    expect(requestsPerMinute('2/s')).toBe(120)
    expect(requestsPerMinute('120/hour')).toBe(2)
    expect(() => requestsPerMinute('ten')).toThrow(/must be N, N\/min, N\/s or N\/hour/)
    expect(() => requestsPerMinute('1/hour')).toThrow(/whole number/)
  })
})
