import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateExperimentResponse, ErrorResponse, ExperimentProgressEvent, readServerSentEvents, type ServerSentEvent } from '@genimage/shared'
import { createApiKey, createDb, type Db, jobs } from '@genimage/shared/db'
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.ts'
import type { EdgeConfig } from '../src/config.ts'
import { RunnerPool } from '../src/runners/runner-pool.ts'
import { libsqlExperimentStore } from '../src/store/libsql-experiments.ts'
import { libsqlKeyStore } from '../src/store/libsql-keys.ts'
import { createLibsqlStore } from '../src/store/libsql-store.ts'

let dir = ''
const open: Db[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-edge-events-'))
})
afterAll(async () => {
  for (const db of open) db.$client.close()
  await rm(dir, { recursive: true, force: true })
})

const POLL_MS = 20

/** An edge over a fresh libSQL file whose experiment store counts the progress reads it makes. */
async function edge(config: Partial<EdgeConfig> = {}) {
  const db = await createDb(`file:${join(dir, `${crypto.randomUUID()}.db`)}`)
  open.push(db)
  const store = libsqlExperimentStore(db, { progressPollMs: POLL_MS })
  const reads = { progress: 0 }
  const counted = {
    ...store,
    progress: (id: string) => {
      reads.progress++
      return store.progress(id)
    },
  }
  const app = createApp({ store: createLibsqlStore(db), runners: new RunnerPool([]), experiments: counted, keys: libsqlKeyStore(db), log: () => {}, config })
  const submit = async (headers: Record<string, string> = {}) => {
    const response = await app.request('/v1/experiments', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ protocol: 'custom', models: ['npr-tiny'], dataRoot: '/d', generators: ['A', 'B'], trainOn: ['A'], seeds: [0, 1] }),
    })
    return CreateExperimentResponse.parse(await response.json()).id
  }
  return { app, db, reads, submit }
}

/** One open progress stream, read event by event. */
async function follow(app: Awaited<ReturnType<typeof edge>>['app'], id: string, headers: Record<string, string> = {}) {
  const response = await app.request(`/v1/experiments/${id}/events`, { headers })
  if (response.status !== 200) return { response, next: async () => undefined, close: async () => {} }
  const messages = readServerSentEvents(response.body!)[Symbol.asyncIterator]()
  return {
    response,
    next: async (): Promise<ServerSentEvent | undefined> => (await messages.next()).value ?? undefined,
    close: async () => void (await messages.return?.(undefined)),
  }
}

describe('experiment progress streams (issue 14 item 6)', () => {
  it('serves 50 streams on one experiment from one database poller, sending only changes', async () => {
    const { app, db, reads, submit } = await edge({ maxEventStreamsPerKey: 64 })
    const id = await submit()
    const streams = await Promise.all(Array.from({ length: 50 }, () => follow(app, id)))
    const first = await Promise.all(streams.map((s) => s.next()))
    expect(first.every((m) => m?.event === 'progress')).toBe(true)

    // Ten poll periods with nothing changing: one poller reads about ten times; fifty pollers would read 500 times.
    const before = reads.progress
    const started = Date.now()
    await new Promise((r) => setTimeout(r, 10 * POLL_MS))
    const periods = (Date.now() - started) / POLL_MS
    expect(reads.progress - before).toBeLessThanOrEqual(Math.ceil(periods) + 2)

    // One change reaches every stream once; the next message after it is the next change, not a repeat.
    const [run] = await db.select().from(jobs).where(eq(jobs.experimentId, id)).orderBy(jobs.runIndex)
    await db
      .update(jobs)
      .set({ state: 'running', updatedAt: new Date(Date.now() + 1) })
      .where(eq(jobs.id, run!.id))
    const second = await Promise.all(streams.map((s) => s.next()))
    expect(second.every((m) => m?.event === 'progress' && ExperimentProgressEvent.parse(JSON.parse(m.data)).state === 'running')).toBe(true)
    await db
      .update(jobs)
      .set({ state: 'succeeded', updatedAt: new Date(Date.now() + 2) })
      .where(eq(jobs.experimentId, id))
    const third = await Promise.all(streams.map((s) => s.next()))
    expect(third.every((m) => m?.event === 'progress' && ExperimentProgressEvent.parse(JSON.parse(m.data)).state === 'succeeded')).toBe(true)
    const ends = await Promise.all(streams.map((s) => s.next()))
    expect(ends.every((m) => m?.event === 'end')).toBe(true)

    // A final state ends the poller: nothing reads the database any more.
    const settled = reads.progress
    await new Promise((r) => setTimeout(r, 5 * POLL_MS))
    expect(reads.progress).toBe(settled)
  })

  it('caps the streams one key holds open (429 rate_limited), per key, and frees a slot when a stream closes', async () => {
    const { app, db, submit } = await edge({ maxEventStreamsPerKey: 3, apiKeys: 'required' })
    const alice = await createApiKey(db, { name: 'alice', scopes: ['experiments'] })
    const admin = await createApiKey(db, { name: 'ops', scopes: ['admin'] })
    const asAlice = { authorization: `Bearer ${alice.secret}` }
    const id = await submit(asAlice)
    const held = await Promise.all([1, 2, 3].map(() => follow(app, id, asAlice)))
    expect(held.map((s) => s.response.status)).toEqual([200, 200, 200])
    await Promise.all(held.map((s) => s.next()))
    const refused = await follow(app, id, asAlice)
    expect(refused.response.status).toBe(429)
    expect(ErrorResponse.parse(await refused.response.json()).error.code).toBe('rate_limited')
    expect(refused.response.headers.get('retry-after')).toBe('5')

    const other = await follow(app, id, { authorization: `Bearer ${admin.secret}` })
    expect(other.response.status).toBe(200)
    await other.close()

    // The slot is given back once the closed stream's handler has noticed the close.
    await held[0]!.close()
    let again = await follow(app, id, asAlice)
    for (let i = 0; i < 100 && again.response.status === 429; i++) {
      await new Promise((r) => setTimeout(r, 10))
      again = await follow(app, id, asAlice)
    }
    expect(again.response.status).toBe(200)
    await again.close()
    for (const s of held.slice(1)) await s.close()
  })
})
