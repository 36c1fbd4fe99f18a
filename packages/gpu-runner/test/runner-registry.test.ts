import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDb, listRunners } from '@genimage/shared/db'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runnerConfigFromEnv } from '../src/config.ts'
import type { LogEntry } from '../src/server/request-log.ts'
import { startRunner } from '../src/server/start-runner.ts'
import { writeBrightnessModel } from './brightness-model.ts'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-registry-'))
  await writeBrightnessModel(join(dir, 'models/brightness'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('runner registry (DATABASE_URL set)', () => {
  it('announces itself with its models and URL, heartbeats, and removes its row when it stops', async () => {
    const databaseUrl = `file:${join(dir, 'registry.db')}`
    const logs: LogEntry[] = []
    const config = runnerConfigFromEnv({
      RUNNER_PORT: '0',
      RUNNER_NAME: 'gpu-7',
      MODEL_DIR: join(dir, 'models'),
      EXECUTION_PROVIDERS: 'cpu',
      DATABASE_URL: databaseUrl,
      HEARTBEAT_MS: '50',
      RUNNER_CAPABILITIES: 'detect,train',
    })
    const runner = await startRunner(config, { log: (e) => logs.push(e) })
    const db = await createDb(databaseUrl)
    try {
      const [row] = await listRunners(db)
      expect(row).toMatchObject({ name: 'gpu-7', url: runner.url, models: ['brightness'], capabilities: ['detect', 'train'], ready: true, draining: false })
      const first = row?.heartbeatAt.getTime() ?? 0
      let beat = first
      while (beat === first) {
        await new Promise((r) => setTimeout(r, 20))
        beat = (await listRunners(db))[0]?.heartbeatAt.getTime() ?? first
      }
      expect(beat).toBeGreaterThan(first)
      await runner.close()
      expect(await listRunners(db)).toEqual([])
      expect(logs.filter((l) => l.level === 'warn')).toEqual([])
    } finally {
      db.$client.close()
    }
  })

  it('keeps serving when the registry cannot be reached', async () => {
    const logs: LogEntry[] = []
    const config = runnerConfigFromEnv({
      RUNNER_PORT: '0',
      MODEL_DIR: join(dir, 'models'),
      EXECUTION_PROVIDERS: 'cpu',
      DATABASE_URL: 'file:/nonexistent-dir/x/registry.db',
    })
    const runner = await startRunner(config, { log: (e) => logs.push(e) })
    expect((await fetch(`${runner.url}/v2/health/ready`)).status).toBe(200)
    expect(logs.some((l) => l.level === 'warn' && /registry/.test(l.msg))).toBe(true)
    await runner.close()
  })
})
