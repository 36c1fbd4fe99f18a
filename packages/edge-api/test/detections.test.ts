import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DetectionsPage, DetectResponse, ErrorResponse } from '@genimage/shared'
import { createApiKey, createDb, type Db } from '@genimage/shared/db'
import { afterEach, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.ts'
import { RunnerPool } from '../src/runners/runner-pool.ts'
import type { DetectionRecord } from '../src/store/detection-store.ts'
import { libsqlKeyStore } from '../src/store/libsql-keys.ts'
import { createLibsqlStore } from '../src/store/libsql-store.ts'
import { form, JPEG_8x8, oipPeer, PNG_8x8 } from './fixtures.ts'

const folders: string[] = []
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true })
})

/** The edge app on a real libSQL file, with one in-process runner peer at http://r1. */
async function fileEdge() {
  const folder = await mkdtemp(join(tmpdir(), 'edge-detections-'))
  folders.push(folder)
  const db = await createDb(`file:${join(folder, 'genimage.db')}`)
  const peer = oipPeer({ models: ['fixture', 'other'] })
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => peer.app.fetch(new Request(input, init))) as typeof fetch
  const runners = new RunnerPool(['http://r1'], { refreshMs: 0, fetchFn })
  const store = createLibsqlStore(db)
  const app = createApp({ store, runners, keys: libsqlKeyStore(db), log: () => {} })
  return { app, db, store }
}

const T0 = Date.parse('2026-12-01T00:00:00Z')

/** A recorded detection `minutes` after T0. */
function record(i: number, minutes: number, overrides: Partial<DetectionRecord> = {}): DetectionRecord {
  return {
    id: `d-${String(i).padStart(3, '0')}`,
    requestId: `req-${i}`,
    correlationId: null,
    imageSha256: i.toString(16).padStart(64, '0'),
    imageBytes: 1000 + i,
    modelName: 'fixture',
    modelVersion: '1',
    aiGenerated: 0.25,
    verdict: 'real',
    threshold: 0.5,
    scores: { nature: 0.75, ai: 0.25 },
    apiKeyId: null,
    runner: 'http://r1',
    latencyMs: 12,
    createdAt: new Date(T0 + minutes * 60_000),
    ...overrides,
  }
}

type App = Awaited<ReturnType<typeof fileEdge>>['app']
const list = async (app: App, query = '', headers: Record<string, string> = {}) => {
  const res = await app.request(`/v1/detections${query}`, { headers })
  expect(res.status).toBe(200)
  return DetectionsPage.parse(await res.json())
}

describe('GET /v1/detections', () => {
  it('lists what POST /v1/detect recorded, with the image named only by hash and size', async () => {
    const { app } = await fileEdge()
    const res = await app.request('/v1/detect', {
      method: 'POST',
      body: form([
        { name: 'model', value: 'fixture' },
        { name: 'image', value: JPEG_8x8, filename: 'secret-name.jpg' },
        { name: 'image', value: PNG_8x8 },
      ]),
      headers: { 'x-request-id': 'client-trace-7' },
    })
    const answer = DetectResponse.parse(await res.json())
    const page = await list(app)
    expect(page.next_cursor).toBe(null)
    expect(page.detections.map((d) => d.id).sort()).toEqual(answer.images.map((i) => i.detection_id).sort())
    const first = page.detections.find((d) => d.id === answer.images[0]?.detection_id)
    expect(first).toMatchObject({
      request_id: answer.id,
      correlation_id: 'client-trace-7',
      model: { name: 'fixture', version: '1' },
      verdict: answer.images[0]?.verdict,
      threshold: answer.threshold,
      image_bytes: JPEG_8x8.byteLength,
      image_sha256: answer.images[0]?.sha256,
      key: null,
      runner: 'http://r1',
    })
    expect(first?.ai_generated).toBeCloseTo(answer.images[0]?.ai_generated ?? -1, 6)
    // Only listing fields: no image bytes, no file name, no per-label scores.
    expect(Object.keys(first ?? {}).sort()).toEqual(
      [
        'ai_generated',
        'correlation_id',
        'id',
        'image_bytes',
        'image_sha256',
        'key',
        'latency_ms',
        'model',
        'request_id',
        'runner',
        'threshold',
        'time',
        'verdict',
      ].sort(),
    )
    expect(JSON.stringify(page)).not.toContain('secret-name')
  })

  it('pages newest first by cursor across a boundary of equal times, without gaps or repeats', async () => {
    const { app, store } = await fileEdge()
    // 7 rows; rows 2, 3 and 4 share one timestamp, so a page boundary falls inside a run of equal times.
    const minutes = [0, 1, 2, 2, 2, 3, 4]
    await store.recordDetections(minutes.map((m, i) => record(i, m)))
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page: DetectionsPage = await list(app, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      seen.push(...page.detections.map((d) => d.id))
      cursor = page.next_cursor
      pages += 1
    } while (cursor)
    expect(pages).toBe(4)
    expect(seen).toEqual(['d-006', 'd-005', 'd-004', 'd-003', 'd-002', 'd-001', 'd-000'])
    expect((await list(app, '?limit=7')).next_cursor).toBe(null)
    expect((await list(app)).detections).toHaveLength(7)
  })

  it('filters by model, verdict (ai, real, or the label nature) and time, and combines filters', async () => {
    const { app, store } = await fileEdge()
    await store.recordDetections([
      record(0, 0),
      record(1, 10, { verdict: 'ai', aiGenerated: 0.9 }),
      record(2, 20, { modelName: 'other' }),
      record(3, 30, { modelName: 'other', verdict: 'ai', aiGenerated: 0.8 }),
    ])
    const ids = async (query: string) => (await list(app, query)).detections.map((d) => d.id)
    expect(await ids('?model=other')).toEqual(['d-003', 'd-002'])
    expect(await ids('?verdict=ai')).toEqual(['d-003', 'd-001'])
    expect(await ids('?verdict=nature')).toEqual(['d-002', 'd-000'])
    expect(await ids('?verdict=real')).toEqual(['d-002', 'd-000'])
    expect(await ids('?since=2026-12-01T00:10:00Z')).toEqual(['d-003', 'd-002', 'd-001'])
    expect(await ids('?until=2026-12-01T00:10:00Z')).toEqual(['d-000'])
    expect(await ids('?since=2026-12-01T01:05:00%2B01:00&until=2026-12-01T00:30:00Z')).toEqual(['d-002', 'd-001'])
    expect(await ids('?model=other&verdict=ai')).toEqual(['d-003'])
    expect(await ids('?model=nothing')).toEqual([])
  })

  it('answers 400 invalid_request naming the parameter for a bad limit, verdict, time or cursor', async () => {
    const { app } = await fileEdge()
    for (const [query, names] of [
      ['?limit=501', 'limit'],
      ['?limit=0', 'limit'],
      ['?verdict=maybe', 'verdict'],
      ['?since=yesterday', 'since'],
      ['?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z', 'until'],
      ['?cursor=bm90LWEtY3Vyc29y', 'cursor'],
      ['?cursor=%2F%2F', 'cursor'],
    ] as const) {
      const res = await app.request(`/v1/detections${query}`)
      expect(res.status, query).toBe(400)
      const error = ErrorResponse.parse(await res.json()).error
      expect(error.code).toBe('invalid_request')
      expect(error.message).toContain(names)
    }
  })

  it("shows a detect key its own detections with its name, an admin key everyone's, and needs a key once keys exist", async () => {
    const { app, db, store } = await fileEdge()
    const mine = await createApiKey(db as Db, { name: 'moderation', scopes: ['detect'] })
    const theirs = await createApiKey(db as Db, { name: 'other-team', scopes: ['detect'] })
    const admin = await createApiKey(db as Db, { name: 'ops', scopes: ['admin'] })
    const metricsOnly = await createApiKey(db as Db, { name: 'prometheus', scopes: ['metrics'] })
    await store.recordDetections([record(0, 0, { apiKeyId: mine.id }), record(1, 1, { apiKeyId: theirs.id }), record(2, 2)])
    const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` })
    const own = await list(app, '', bearer(mine.secret))
    expect(own.detections.map((d) => [d.id, d.key])).toEqual([['d-000', { id: mine.id, name: 'moderation' }]])
    expect((await list(app, '', bearer(admin.secret))).detections.map((d) => d.id)).toEqual(['d-002', 'd-001', 'd-000'])
    expect((await app.request('/v1/detections')).status).toBe(401)
    expect((await app.request('/v1/detections', { headers: bearer(metricsOnly.secret) })).status).toBe(403)
  })

  it('is documented in the OpenAPI document with its query parameters', async () => {
    const { app } = await fileEdge()
    const document = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, { get?: { parameters?: { name: string; in: string }[] } }>
      components: { schemas: Record<string, unknown> }
    }
    const parameters = document.paths['/v1/detections']?.get?.parameters ?? []
    expect(parameters.map((p) => `${p.in}:${p.name}`).sort()).toEqual([
      'query:cursor',
      'query:limit',
      'query:model',
      'query:since',
      'query:until',
      'query:verdict',
    ])
    expect(['DetectionsPage', 'ModelDetail'].filter((name) => !(name in document.components.schemas))).toEqual([])
  })
})
