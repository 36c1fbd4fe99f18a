import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CreateExperimentResponse,
  ErrorResponse,
  ExperimentDetail,
  ExperimentListResponse,
  ExperimentProgressEvent,
  readServerSentEvents,
} from '@genimage/shared'
import { createDb, type Db, jobs } from '@genimage/shared/db'
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.ts'
import { RunnerPool } from '../src/runners/runner-pool.ts'
import { libsqlExperimentStore } from '../src/store/libsql-experiments.ts'
import { createLibsqlStore } from '../src/store/libsql-store.ts'

let dir = ''
let url = ''
const open: Db[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-edge-exp-'))
  url = `file:${join(dir, 'edge.db')}`
})
afterAll(async () => {
  for (const db of open) db.$client.close()
  await rm(dir, { recursive: true, force: true })
})

/** A fresh edge process in all but name: a new database connection and a new app over the same file. */
async function startEdge() {
  const db = await createDb(url)
  open.push(db)
  const app = createApp({
    store: createLibsqlStore(db),
    runners: new RunnerPool([]),
    experiments: libsqlExperimentStore(db, { progressPollMs: 10 }),
    log: () => {},
  })
  return { app, db }
}

const MINI = ['Bicubic', 'RDN-slim', 'RDN-medium', 'Autoencoder']
const post = (app: Awaited<ReturnType<typeof startEdge>>['app'], body: unknown) =>
  app.request('/v1/experiments', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

async function expectBadField(response: Response, field: string, message?: RegExp) {
  expect(response.status).toBe(400)
  const body = ErrorResponse.parse(await response.json())
  expect(body.error.code).toBe('invalid_request')
  expect(body.error.details?.field).toBe(field)
  expect(body.error.message.startsWith(`${field}: `)).toBe(true)
  if (message) expect(body.error.message).toMatch(message)
}

/** Reads Server-Sent Events until `stop` says so. */
async function readEvents(response: Response, stop: (event: string, data: unknown) => boolean) {
  const events: Array<{ event: string; data: unknown }> = []
  for await (const message of readServerSentEvents(response.body!)) {
    const data: unknown = JSON.parse(message.data)
    events.push({ event: message.event, data })
    if (stop(message.event, data)) break
  }
  return events
}

describe('/v1/experiments', () => {
  it('answers a bad spec with 400 naming the field', async () => {
    const { app } = await startEdge()
    const good = { protocol: 'table3', models: ['npr-tiny'], dataRoot: '/data/mini', generators: MINI, trainOn: ['Bicubic'] }
    await expectBadField(await post(app, '{not json'), 'body')
    await expectBadField(await post(app, { ...good, models: [] }), 'models')
    await expectBadField(await post(app, { ...good, epochs: 0 }), 'epochs')
    await expectBadField(await post(app, { ...good, protocol: 'table9' }), 'protocol')
    await expectBadField(await post(app, { ...good, models: ['npr-tiny', 'resnet-9000'] }), 'models.1', /unknown model "resnet-9000"/)
    await expectBadField(await post(app, { ...good, trainOn: ['SD_V1.4'] }), 'trainOn', /not a generator of the dataset/)
    await expectBadField(await post(app, { ...good, trainOn: undefined }), 'trainOn', /no SD V1.4 subset/)
    await expectBadField(await post(app, { ...good, protocol: 'custom', degradations: ['none', 'jpeg-0'] }), 'degradations.1')
    await expectBadField(await post(app, { ...good, gpus: 8 }), 'gpus', /unknown field/)
  })

  it('expands a protocol into runs, lists it, shows it, and 404s an unknown id', async () => {
    const { app } = await startEdge()
    const response = await post(app, {
      protocol: 'table4',
      models: ['npr-tiny', 'resnet50-tiny'],
      dataRoot: '/data/mini',
      generators: MINI,
      name: 'mini table 4',
    })
    expect(response.status).toBe(201)
    const answer = (await response.json()) as Record<string, unknown>
    expect('runDetails' in answer).toBe(false)
    expect(CreateExperimentResponse.parse(answer)).toMatchObject({ protocol: 'table4', state: 'queued', runs: { queued: 8 }, totalRuns: 8 })
    const created = ExperimentDetail.parse(await (await app.request(response.headers.get('location')!)).json())
    expect(response.headers.get('location')).toBe(`/v1/experiments/${created.id}`)
    expect(created).toMatchObject({ protocol: 'table4', state: 'queued', runs: { queued: 8 } })
    expect(created.runDetails.map((r) => `${r.model}@${r.trainOn.join('+')}`).slice(0, 3)).toEqual([
      'npr-tiny@Bicubic',
      'resnet50-tiny@Bicubic',
      'npr-tiny@RDN-slim',
    ])
    expect(created.runDetails.every((r) => r.testOn.length === 4 && r.degradations.join() === 'none')).toBe(true)

    const table5Id = CreateExperimentResponse.parse(
      await (await post(app, { protocol: 'table5', models: ['npr-tiny'], dataRoot: '/d', generators: ['ADM', 'SD_V1.4'] })).json(),
    ).id
    const table5 = ExperimentDetail.parse(await (await app.request(`/v1/experiments/${table5Id}`)).json())
    expect(table5.runDetails[0]).toMatchObject({
      trainOn: ['SD_V1.4'],
      testOn: ['SD_V1.4'],
      degradations: ['none', 'downscale-112', 'downscale-64', 'jpeg-65', 'jpeg-30', 'blur-3', 'blur-5'],
    })

    const list = ExperimentListResponse.parse(await (await app.request('/v1/experiments')).json())
    expect(list.experiments.map((e) => e.id).includes(created.id)).toBe(true)
    const shown = ExperimentDetail.parse(await (await app.request(`/v1/experiments/${created.id}`)).json())
    expect(shown.spec).toMatchObject({ name: 'mini table 4', epochs: 3, seeds: [0], degradeReal: true })
    expect((await app.request('/v1/experiments/exp_nope')).status).toBe(404)
    expect((await app.request('/v1/experiments/exp_nope/cancel', { method: 'POST' })).status).toBe(404)
  })

  it('streams progress as SSE until the experiment ends, and an edge restart loses nothing', async () => {
    const first = await startEdge()
    const { id } = CreateExperimentResponse.parse(
      await (
        await post(first.app, { protocol: 'custom', models: ['npr-tiny'], dataRoot: '/d', generators: MINI, trainOn: ['Bicubic'], testOn: ['Bicubic'] })
      ).json(),
    )
    const created = ExperimentDetail.parse(await (await first.app.request(`/v1/experiments/${id}`)).json())
    const runId = created.runDetails[0]!.id

    // The edge "restarts": a new connection and app over the same database file.
    const second = await startEdge()
    const stream = await second.app.request(`/v1/experiments/${created.id}/events`)
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/)
    const seen: string[] = []
    const events = await readEvents(stream, (event, data) => {
      if (event !== 'progress') return event === 'end'
      const progress = ExperimentProgressEvent.parse(data)
      const run = progress.runs[0]!
      seen.push(`${run.state}:${run.progress.step}`)
      // A runner (simulated by writing the rows it writes) advances the run after each event it sees.
      const next =
        run.progress.step === 0 && run.state === 'queued'
          ? { state: 'running', progress: { ...run.progress, phase: 'training', step: 5, totalSteps: 10 } }
          : run.progress.step === 5
            ? { state: 'succeeded', progress: { ...run.progress, phase: 'done', step: 10 } }
            : undefined
      if (next)
        void second.db
          .update(jobs)
          .set({ ...next, updatedAt: new Date(Date.now() + seen.length) })
          .where(eq(jobs.id, runId))
          .run()
      return false
    })
    expect(seen).toEqual(['queued:0', 'running:5', 'succeeded:10'])
    expect(events.at(-1)).toEqual({ event: 'end', data: { id: created.id, state: 'succeeded' } })
    const after = ExperimentDetail.parse(await (await first.app.request(`/v1/experiments/${created.id}`)).json())
    expect(after.state).toBe('succeeded')
  })

  it('cancel marks queued runs cancelled and is idempotent', async () => {
    const { app } = await startEdge()
    const created = CreateExperimentResponse.parse(
      await (await post(app, { protocol: 'table4', models: ['npr-tiny'], dataRoot: '/d', generators: MINI })).json(),
    )
    const cancel = async () => (await app.request(`/v1/experiments/${created.id}/cancel`, { method: 'POST' })).json()
    expect(await cancel()).toEqual({ id: created.id, state: 'cancelled', cancelledRuns: 4 })
    expect(await cancel()).toEqual({ id: created.id, state: 'cancelled', cancelledRuns: 0 })
    const shown = ExperimentDetail.parse(await (await app.request(`/v1/experiments/${created.id}`)).json())
    expect(shown).toMatchObject({ state: 'cancelled', runs: { cancelled: 4, queued: 0 } })
  })
})
