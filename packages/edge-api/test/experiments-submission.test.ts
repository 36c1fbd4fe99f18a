import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateExperimentResponse, ErrorResponse } from '@genimage/shared'
import { createDb, type Db, experiments, jobs } from '@genimage/shared/db'
import { count } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.ts'
import type { EdgeConfig } from '../src/config.ts'
import { RunnerPool } from '../src/runners/runner-pool.ts'
import { libsqlExperimentStore } from '../src/store/libsql-experiments.ts'
import { createLibsqlStore } from '../src/store/libsql-store.ts'

let dir = ''
const open: Db[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-edge-submit-'))
})
afterAll(async () => {
  for (const db of open) db.$client.close()
  await rm(dir, { recursive: true, force: true })
})

/** An edge over a fresh libSQL file. */
async function edge(config: Partial<EdgeConfig> = {}) {
  const db = await createDb(`file:${join(dir, `${crypto.randomUUID()}.db`)}`)
  open.push(db)
  const app = createApp({ store: createLibsqlStore(db), runners: new RunnerPool([]), experiments: libsqlExperimentStore(db), log: () => {}, config })
  const rowCounts = async () => ({
    experiments: (await db.select({ n: count() }).from(experiments))[0]?.n,
    jobs: (await db.select({ n: count() }).from(jobs))[0]?.n,
  })
  return { app, db, rowCounts }
}

const GENERATORS_64 = Array.from({ length: 64 }, (_, i) => `Gen${i}`)
const ELEVEN_MODELS = ['resnet50', 'deit-s', 'swin-t', 'cnnspot', 'spec', 'f3net', 'gramnet', 'npr', 'univfd-probe', 'npr-tiny', 'spec-tiny']
const TEN_SEEDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
const spec = (extra: Record<string, unknown> = {}) => ({
  protocol: 'table3',
  models: ['npr-tiny'],
  dataRoot: '/data/mini',
  generators: ['SD_V1.4', 'ADM'],
  ...extra,
})
const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
})
const errorOf = async (response: Response) => ErrorResponse.parse(await response.json()).error

/** A body stream of `total` bytes of JSON-ish filler that counts how much of it the server pulled. */
function countedBody(total: number, chunk = 64 * 1024) {
  const pulled = { bytes: 0 }
  const filler = new TextEncoder().encode('['.padEnd(chunk, ' '))
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled.bytes >= total) return controller.close()
      pulled.bytes += filler.byteLength
      controller.enqueue(filler)
    },
  })
  return { stream, pulled }
}

describe('POST /v1/experiments body limits (issue 14 item 4)', () => {
  it('answers a 30 MiB body with a declared length 413 without reading it', async () => {
    const { app, rowCounts } = await edge()
    const body = countedBody(30 * 1024 * 1024)
    const response = await app.request('/v1/experiments', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(30 * 1024 * 1024) },
      body: body.stream,
      duplex: 'half',
    } as RequestInit)
    expect(response.status).toBe(413)
    expect((await errorOf(response)).code).toBe('payload_too_large')
    expect(body.pulled.bytes).toBeLessThanOrEqual(2 * 64 * 1024)
    expect(await rowCounts()).toEqual({ experiments: 0, jobs: 0 })
  })

  it('stops reading a body without a declared length once it passes the limit', async () => {
    const { app } = await edge({ maxExperimentSpecBytes: 64 * 1024 })
    const body = countedBody(30 * 1024 * 1024, 16 * 1024)
    const response = await app.request('/v1/experiments', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body.stream,
      duplex: 'half',
    } as RequestInit)
    expect(response.status).toBe(413)
    expect(body.pulled.bytes).toBeLessThanOrEqual(64 * 1024 + 3 * 16 * 1024)
  })
})

describe('run budget, duplicates and the POST answer (issue 14 item 5)', () => {
  it('refuses a spec expanding to 7,040 runs with 400 field `runs` and writes nothing', async () => {
    const { app, rowCounts } = await edge()
    const response = await app.request(
      '/v1/experiments',
      json({ ...spec(), protocol: 'table4', generators: GENERATORS_64, models: ELEVEN_MODELS, seeds: TEN_SEEDS }),
    )
    expect(response.status).toBe(400)
    const error = await errorOf(response)
    expect(error).toMatchObject({ code: 'invalid_request', details: { field: 'runs', runs: 7040, limit: 1000 } })
    expect(await rowCounts()).toEqual({ experiments: 0, jobs: 0 })
  })

  it('refuses duplicate seeds, models and train or test sets, naming the repeated entry', async () => {
    const { app, rowCounts } = await edge()
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ seeds: [0, 1, 0] }, 'seeds.2'],
      [{ models: ['npr-tiny', 'npr-tiny'] }, 'models.1'],
      [{ protocol: 'custom', trainOn: ['ADM', 'ADM'] }, 'trainOn.1'],
      [{ protocol: 'custom', trainOn: ['ADM'], testOn: ['ADM', 'SD_V1.4', 'ADM'] }, 'testOn.2'],
    ]
    for (const [extra, field] of cases) {
      const response = await app.request('/v1/experiments', json(spec(extra)))
      expect(response.status).toBe(400)
      const error = await errorOf(response)
      expect(error.details?.field).toBe(field)
      expect(error.message).toMatch(/duplicate/)
    }
    expect((await app.request('/v1/experiments', json(spec({ generators: ['SD_V1.4', 'ADM', 'ADM'] })))).status).toBe(400)
    expect(await rowCounts()).toEqual({ experiments: 0, jobs: 0 })
  })

  it('stores a 1,000-run experiment (chunked inserts) and answers a summary, not every run', async () => {
    const { app, rowCounts } = await edge()
    const models = ['npr-tiny', 'spec-tiny', 'cnnspot-tiny', 'f3net-tiny', 'gramnet-tiny']
    const response = await app.request(
      '/v1/experiments',
      json({ ...spec(), protocol: 'table4', generators: GENERATORS_64.slice(0, 20), models, seeds: TEN_SEEDS }),
    )
    expect(response.status).toBe(201)
    const text = await response.text()
    const created = CreateExperimentResponse.parse(JSON.parse(text))
    expect(created).toMatchObject({ totalRuns: 1000, runs: { queued: 1000 } })
    expect(text.length).toBeLessThan(4096)
    expect(await rowCounts()).toEqual({ experiments: 1, jobs: 1000 })
  })
})

describe('data roots and generator names (issue 14 item 7)', () => {
  it('accepts only a dataRoot inside DATA_ROOTS', async () => {
    const { app, rowCounts } = await edge({ dataRoots: ['/data/genimage', '/srv/sets/'] })
    for (const dataRoot of ['/root', '/data/genimagex', '/data', '/etc/passwd']) {
      const response = await app.request('/v1/experiments', json(spec({ dataRoot })))
      expect(response.status).toBe(400)
      expect((await errorOf(response)).details?.field).toBe('dataRoot')
    }
    expect((await app.request('/v1/experiments', json(spec({ dataRoot: '/data/genimage/mini' })))).status).toBe(201)
    expect((await app.request('/v1/experiments', json(spec({ dataRoot: '/srv/sets' })))).status).toBe(201)
    expect(await rowCounts()).toMatchObject({ experiments: 2 })
  })

  it('refuses relative paths, `..` segments and control characters in dataRoot, with or without DATA_ROOTS', async () => {
    const { app } = await edge()
    for (const dataRoot of ['../../etc', 'data/mini', '/data/mini/../../root', '/data/./mini', '/data/mi\u0000ni']) {
      const response = await app.request('/v1/experiments', json(spec({ dataRoot })))
      expect(response.status).toBe(400)
      expect((await errorOf(response)).details?.field).toBe('dataRoot')
    }
  })

  it('refuses generator names `.`, `..`, with NUL or other control characters', async () => {
    const { app, rowCounts } = await edge()
    for (const bad of ['.', '..', 'SD\u0000V1.4', 'line\nbreak', 'a/b', 'a\\b']) {
      const response = await app.request('/v1/experiments', json(spec({ generators: ['SD_V1.4', bad] })))
      expect(response.status).toBe(400)
      expect((await errorOf(response)).details?.field).toBe('generators.1')
    }
    expect(await rowCounts()).toEqual({ experiments: 0, jobs: 0 })
  })
})

describe('cross-site requests (issue 14 item 8)', () => {
  it('answers 415 to text/plain, form and missing content types, starting nothing', async () => {
    const { app, rowCounts } = await edge()
    const body = JSON.stringify(spec())
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
      const response = await app.request('/v1/experiments', { method: 'POST', body, headers: type ? { 'content-type': type } : {} })
      expect(response.status).toBe(415)
      expect((await errorOf(response)).code).toBe('unsupported_media_type')
    }
    expect(await rowCounts()).toEqual({ experiments: 0, jobs: 0 })
    expect((await app.request('/v1/experiments', json(spec(), { 'content-type': 'application/json; charset=utf-8' }))).status).toBe(201)
  })

  it('refuses a foreign Origin on state-changing routes and lets allowed, same-origin and Origin-less requests through', async () => {
    const { app, rowCounts } = await edge({ allowedOrigins: ['https://console.example.com'] })
    const evil = await app.request('http://127.0.0.1:8787/v1/experiments', json(spec(), { origin: 'https://evil.example' }))
    expect(evil.status).toBe(403)
    expect((await errorOf(evil)).code).toBe('forbidden')
    expect((await app.request('http://127.0.0.1:8787/v1/experiments', json(spec(), { origin: 'null' }))).status).toBe(403)
    const detect = await app.request('http://127.0.0.1:8787/v1/detect', { method: 'POST', body: new FormData(), headers: { origin: 'https://evil.example' } })
    expect(detect.status).toBe(403)
    expect(await rowCounts()).toEqual({ experiments: 0, jobs: 0 })

    const allowed = await app.request('http://127.0.0.1:8787/v1/experiments', json(spec(), { origin: 'https://console.example.com' }))
    expect(allowed.status).toBe(201)
    const { id } = CreateExperimentResponse.parse(await allowed.json())
    expect(
      (await app.request(`http://127.0.0.1:8787/v1/experiments/${id}/cancel`, { method: 'POST', headers: { origin: 'https://evil.example' } })).status,
    ).toBe(403)
    expect((await app.request('http://127.0.0.1:8787/v1/experiments', json(spec(), { origin: 'http://127.0.0.1:8787' }))).status).toBe(201)
    expect((await app.request('http://127.0.0.1:8787/v1/experiments', json(spec()))).status).toBe(201)
    // Reading is not state-changing: a foreign page cannot read the answer anyway (no CORS headers).
    expect((await app.request(`http://127.0.0.1:8787/v1/experiments/${id}`, { headers: { origin: 'https://evil.example' } })).status).toBe(200)
    expect(await rowCounts()).toMatchObject({ experiments: 3 })
  })
})
