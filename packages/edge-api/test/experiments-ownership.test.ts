import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateExperimentResponse, ErrorResponse, ExperimentDetail, ExperimentListResponse } from '@genimage/shared'
import { createApiKey, createDb, type Db, jobs } from '@genimage/shared/db'
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.ts'
import { RunnerPool } from '../src/runners/runner-pool.ts'
import { libsqlExperimentStore } from '../src/store/libsql-experiments.ts'
import { libsqlKeyStore } from '../src/store/libsql-keys.ts'
import { createLibsqlStore } from '../src/store/libsql-store.ts'

let dir = ''
const open: Db[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-edge-owner-'))
})
afterAll(async () => {
  for (const db of open) db.$client.close()
  await rm(dir, { recursive: true, force: true })
})

/** An edge over a fresh libSQL file with three keys: two experiment users and an admin. */
async function edge() {
  const db = await createDb(`file:${join(dir, `${crypto.randomUUID()}.db`)}`)
  open.push(db)
  const app = createApp({
    store: createLibsqlStore(db),
    runners: new RunnerPool([]),
    experiments: libsqlExperimentStore(db),
    keys: libsqlKeyStore(db),
    log: () => {},
  })
  const as = async (name: string, scopes: string[]) => ({ authorization: `Bearer ${(await createApiKey(db, { name, scopes })).secret}` })
  const keys = { alice: await as('alice', ['experiments']), bob: await as('bob', ['experiments']), admin: await as('ops', ['admin']) }
  const submit = async (headers: Record<string, string>) => {
    const response = await app.request('/v1/experiments', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ protocol: 'custom', models: ['npr-tiny'], dataRoot: '/d', generators: ['A', 'B'], trainOn: ['A'], seeds: [0, 1] }),
    })
    expect(response.status).toBe(201)
    return CreateExperimentResponse.parse(await response.json()).id
  }
  const detail = async (id: string) => ExperimentDetail.parse(await (await app.request(`/v1/experiments/${id}`, { headers: keys.admin })).json())
  const cancel = (id: string, headers: Record<string, string>) => app.request(`/v1/experiments/${id}/cancel`, { method: 'POST', headers })
  return { app, db, keys, submit, detail, cancel }
}

const errorOf = async (response: Response) => ErrorResponse.parse(await response.json()).error

describe('experiment owners (issue 14 item 13)', () => {
  it('records the submitting key: another key can neither see nor cancel it, an admin can', async () => {
    const { app, keys, submit, detail, cancel } = await edge()
    const id = await submit(keys.alice)
    const bobsCancel = await cancel(id, keys.bob)
    expect(bobsCancel.status).toBe(404)
    expect((await errorOf(bobsCancel)).code).toBe('not_found')
    expect((await detail(id)).state).toBe('queued')
    expect((await app.request(`/v1/experiments/${id}`, { headers: keys.bob })).status).toBe(404)
    expect((await app.request(`/v1/experiments/${id}/events`, { headers: keys.bob })).status).toBe(404)
    const bobsList = ExperimentListResponse.parse(await (await app.request('/v1/experiments', { headers: keys.bob })).json())
    expect(bobsList.experiments.map((e) => e.id).includes(id)).toBe(false)
    const alicesList = ExperimentListResponse.parse(await (await app.request('/v1/experiments', { headers: keys.alice })).json())
    expect(alicesList.experiments.map((e) => e.id)).toEqual([id])
    expect((await app.request(`/v1/experiments/${id}`, { headers: keys.alice })).status).toBe(200)

    const byAdmin = await cancel(id, keys.admin)
    expect(byAdmin.status).toBe(200)
    expect(await byAdmin.json()).toEqual({ id, state: 'cancelled', cancelledRuns: 2 })
  })

  it('answers 409 experiment_finished to cancelling a finished experiment and leaves its state', async () => {
    const { db, keys, submit, detail, cancel } = await edge()
    const id = await submit(keys.alice)
    await db.update(jobs).set({ state: 'succeeded', finishedAt: new Date(), updatedAt: new Date() }).where(eq(jobs.experimentId, id))
    const refused = await cancel(id, keys.alice)
    expect(refused.status).toBe(409)
    expect(await errorOf(refused)).toMatchObject({ code: 'experiment_finished', details: { state: 'succeeded' } })
    expect(await detail(id)).toMatchObject({ state: 'succeeded', runs: { succeeded: 2, cancelled: 0 } })

    const failed = await submit(keys.alice)
    await db.update(jobs).set({ state: 'failed', updatedAt: new Date() }).where(eq(jobs.experimentId, failed))
    expect((await cancel(failed, keys.admin)).status).toBe(409)
    expect((await detail(failed)).state).toBe('failed')
  })

  it('cancels what is left of a running experiment, and a second cancel changes nothing', async () => {
    const { db, keys, submit, detail, cancel } = await edge()
    const id = await submit(keys.alice)
    const [first] = await db.select().from(jobs).where(eq(jobs.experimentId, id)).orderBy(jobs.runIndex)
    await db.update(jobs).set({ state: 'succeeded', updatedAt: new Date() }).where(eq(jobs.id, first!.id))
    expect(await (await cancel(id, keys.alice)).json()).toEqual({ id, state: 'cancelled', cancelledRuns: 1 })
    expect(await (await cancel(id, keys.alice)).json()).toEqual({ id, state: 'cancelled', cancelledRuns: 0 })
    expect(await detail(id)).toMatchObject({ state: 'cancelled', runs: { succeeded: 1, cancelled: 1 } })
  })
})
