// Node only (vitest): async detect jobs over a real libSQL file and a real spool folder, scored by OIP stand-ins.
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DetectJobAccepted, DetectJobStatus, DetectResponse, ErrorResponse } from '@genimage/shared'
import { callbackDeliveries, createApiKey, createDb, type Db, detectJobs, detections } from '@genimage/shared/db'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.ts'
import { edgeEnvironment } from '../src/config.ts'
import { assertCallbackSignable, checkCallbackUrl, enqueueCallback } from '../src/callbacks/index.ts'
import { type CallbackHooks, DetectJobs } from '../src/jobs/detect-jobs.ts'
import { openFileSpool } from '../src/jobs/file-spool.ts'
import { RunnerPool } from '../src/runners/runner-pool.ts'
import { libsqlKeyStore } from '../src/store/libsql-keys.ts'
import { createLibsqlStore } from '../src/store/libsql-store.ts'
import { form, JPEG_8x8, oipPeer, PNG_8x8 } from './fixtures.ts'

type Peer = { app: { fetch: (request: Request) => Response | Promise<Response> } } | 'down'

/** A PNG that differs from PNG_8x8 in its last bytes (so its sha256 and score differ); `CORRUPT` in it makes `corruptingPeer` refuse it. */
const variant = (i: number, marker = '') => new Uint8Array([...PNG_8x8, ...new TextEncoder().encode(`${marker}#${i}`)])

/** An OIP peer that answers 422 `corrupt_image` (naming the image) for a call holding an image with `CORRUPT` in it. */
function corruptingPeer() {
  const inner = oipPeer()
  const app = new Hono()
  app.all('*', async (c) => {
    const request = c.req.raw
    if (request.method === 'POST' && request.url.endsWith('/infer')) {
      const body = new Uint8Array(await request.clone().arrayBuffer())
      const headerLength = Number(request.headers.get('inference-header-content-length'))
      let offset = headerLength
      for (let i = 0; offset < body.length; i++) {
        const length = new DataView(body.buffer, body.byteOffset + offset, 4).getUint32(0, true)
        const text = new TextDecoder().decode(body.subarray(offset + 4, offset + 4 + length))
        if (text.includes('CORRUPT')) return c.json({ error: 'the image could not be decoded', code: 'corrupt_image', image: i }, 422)
        offset += 4 + length
      }
    }
    return inner.app.fetch(request)
  })
  return { app, calls: inner.calls }
}

let dirs: string[] = []
let open: { jobs: DetectJobs; db: Db }[] = []
afterEach(async () => {
  for (const { jobs, db } of open) {
    await jobs.close()
    db.$client.close()
  }
  open = []
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  dirs = []
})

async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'detect-jobs-'))
  dirs.push(dir)
  return dir
}

/** The edge app with async jobs over `dir` (database file and spool), its runners reached in process by host name. */
async function edgeWithJobs(
  dir: string,
  peers: Record<string, Peer>,
  options: { config?: Record<string, unknown>; spoolMaxBytes?: number; callbacks?: (db: Db) => CallbackHooks } = {},
) {
  const db = await createDb(`file:${join(dir, 'genimage.db')}`)
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    const peer = peers[new URL(request.url).host]
    if (!peer || peer === 'down') throw new TypeError('fetch failed: connection refused')
    return peer.app.fetch(request)
  }) as typeof fetch
  const runners = new RunnerPool(
    Object.keys(peers).map((host) => `http://${host}`),
    { refreshMs: 0, fetchFn },
  )
  const spool = await openFileSpool({ dir: join(dir, 'spool'), maxBytes: options.spoolMaxBytes ?? 10 * 1024 * 1024 })
  const jobs = new DetectJobs({ db, spool, idlePollMs: 50, ...(options.callbacks ? { callbacks: options.callbacks(db) } : {}) })
  const app = createApp({ store: createLibsqlStore(db), runners, keys: libsqlKeyStore(db), log: () => {}, detectJobs: jobs, config: options.config ?? {} })
  await jobs.start()
  open.push({ jobs, db })
  // The worker deletes a job's folder right after the job ends, so a listing may meet a folder that is just gone: list again.
  const spooled = async (): Promise<string[]> => {
    for (;;) {
      try {
        return (await readdir(join(dir, 'spool', 'jobs'), { recursive: true })).filter((name) => name.includes('/'))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      }
    }
  }
  return { app, db, jobs, spooled }
}

type App = Awaited<ReturnType<typeof edgeWithJobs>>['app']

async function submit(app: App, body: FormData | string, headers: Record<string, string> = {}, query = '?async=true') {
  return app.request(`/v1/detect${query}`, { method: 'POST', body, headers })
}

/** Reads the job until it has ended (the worker is woken by each accepted job; this only waits for it). */
async function untilEnded(app: App, id: string, headers: Record<string, string> = {}, query = ''): Promise<DetectJobStatus> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const res = await app.request(`/v1/detect/jobs/${id}${query}`, { headers })
    expect(res.status).toBe(200)
    const status = DetectJobStatus.parse(await res.json())
    if (status.status === 'done' || status.status === 'failed') return status
    if (Date.now() > deadline) throw new Error(`job ${id} still ${status.status} after 20 s`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('async detect jobs', () => {
  it('accepts one image with 202 and a Location, and answers the sync body once done; the spooled bytes are deleted', async () => {
    const { app, db, spooled } = await edgeWithJobs(await workDir(), { r1: oipPeer() })
    const res = await submit(app, form([{ name: 'image', value: JPEG_8x8, filename: 'a.jpg' }]))
    expect(res.status).toBe(202)
    const accepted = DetectJobAccepted.parse(await res.json())
    expect(res.headers.get('location')).toBe(`/v1/detect/jobs/${accepted.id}`)
    expect(accepted.location).toBe(res.headers.get('location'))
    expect(accepted.progress).toEqual({ total: 1, done: 0, scored: 0, failed: 0 })
    const done = await untilEnded(app, accepted.id)
    expect(done.status).toBe('done')
    expect(done.progress).toEqual({ total: 1, done: 1, scored: 1, failed: 0 })
    const result = DetectResponse.parse(done.result)
    const sync = DetectResponse.parse(
      await (await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8, filename: 'a.jpg' }]) })).json(),
    )
    const { detection_id: _a, ...asyncImage } = result.images[0] ?? ({} as never)
    const { detection_id: _b, ...syncImage } = sync.images[0] ?? ({} as never)
    expect(asyncImage).toEqual(syncImage)
    expect(result.id).toBe(accepted.id)
    expect(result.model).toEqual(sync.model)
    const rows = await db.select().from(detections)
    expect(rows.filter((row) => row.requestId === accepted.id).map((row) => row.id)).toEqual([result.images[0]?.detection_id])
    expect(await spooled()).toEqual([])
  })

  it('takes `Prefer: respond-async` too, and refuses an async value that is not true or false', async () => {
    const { app } = await edgeWithJobs(await workDir(), { r1: oipPeer() })
    const preferred = await submit(app, form([{ name: 'image', value: PNG_8x8 }]), { prefer: 'respond-async, wait=5' }, '')
    expect(preferred.status).toBe(202)
    expect(preferred.headers.get('preference-applied')).toBe('respond-async')
    const bad = await submit(app, form([{ name: 'image', value: PNG_8x8 }]), {}, '?async=yes')
    expect(bad.status).toBe(400)
    expect(ErrorResponse.parse(await bad.json()).error.code).toBe('invalid_request')
    const sync = await submit(app, form([{ name: 'image', value: PNG_8x8 }]), { prefer: 'respond-async' }, '?async=false')
    expect(sync.status).toBe(200)
  })

  it('scores a batch with a corrupt image and a non-image as two failed items, pages the results in order and records each image once', async () => {
    const { app, db, spooled } = await edgeWithJobs(await workDir(), { r1: corruptingPeer() })
    const parts = Array.from({ length: 20 }, (_, i) => ({ name: 'image', value: variant(i, i === 7 ? 'CORRUPT' : ''), filename: `p${i}.png` }))
    parts[12] = { name: 'image', value: new TextEncoder().encode('not an image at all'), filename: 'p12.png' }
    const res = await submit(app, form(parts))
    expect(res.status).toBe(202)
    const { id } = DetectJobAccepted.parse(await res.json())
    const first = await untilEnded(app, id, {}, '?limit=8')
    expect(first.status).toBe('done')
    expect(first.progress).toEqual({ total: 20, done: 20, scored: 18, failed: 2 })
    const images: number[] = []
    const failures: [number, string][] = []
    let page: DetectJobStatus = first
    for (;;) {
      images.push(...(page.result?.images.map((image) => image.index) ?? []))
      failures.push(...page.failures.map((f): [number, string] => [f.index, f.code]))
      if (!page.next_cursor) break
      page = DetectJobStatus.parse(await (await app.request(`/v1/detect/jobs/${id}?limit=8&cursor=${page.next_cursor}`)).json())
    }
    expect(images).toEqual([...Array(20).keys()].filter((i) => i !== 7 && i !== 12))
    expect(failures).toEqual([
      [7, 'corrupt_image'],
      [12, 'unsupported_media_type'],
    ])
    expect(first.result?.images[0]?.filename).toBe('p0.png')
    const rows = await db.select().from(detections)
    expect(rows.filter((row) => row.requestId === id)).toHaveLength(18)
    expect(await spooled()).toEqual([])
    const badCursor = await app.request(`/v1/detect/jobs/${id}?cursor=abc`)
    expect(ErrorResponse.parse(await badCursor.json()).error.code).toBe('invalid_request')
  })

  it('refuses 1,001 images with 413 batch_too_large and keeps nothing', async () => {
    const { app, db, spooled } = await edgeWithJobs(await workDir(), { r1: oipPeer() })
    const parts = Array.from({ length: 1001 }, (_, i) => ({ name: 'image', value: variant(i) }))
    const res = await submit(app, form(parts))
    expect(res.status).toBe(413)
    expect(ErrorResponse.parse(await res.json()).error.code).toBe('batch_too_large')
    expect(await db.select().from(detectJobs)).toEqual([])
    expect(await spooled()).toEqual([])
  })

  it('answers 503 spool_full with Retry-After when the images would pass the spool cap, and keeps nothing', async () => {
    const { app, db, spooled } = await edgeWithJobs(await workDir(), { r1: oipPeer() }, { spoolMaxBytes: PNG_8x8.byteLength * 2 })
    const res = await submit(app, form([0, 1, 2].map((i) => ({ name: 'image', value: variant(i) }))))
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('30')
    expect(ErrorResponse.parse(await res.json()).error.code).toBe('spool_full')
    expect(await db.select().from(detectJobs)).toEqual([])
    expect(await spooled()).toEqual([])
  })

  it("gives 404 for an unknown job and for another key's job", async () => {
    const dir = await workDir()
    const { app, db } = await edgeWithJobs(dir, { r1: oipPeer() }, { config: { apiKeys: 'required' } })
    const alice = await createApiKey(db, { name: 'alice', scopes: ['detect'] })
    const bob = await createApiKey(db, { name: 'bob', scopes: ['detect'] })
    const as = (key: { secret: string }) => ({ authorization: `Bearer ${key.secret}` })
    const res = await submit(app, form([{ name: 'image', value: PNG_8x8 }]), as(alice))
    const { id } = DetectJobAccepted.parse(await res.json())
    expect((await untilEnded(app, id, as(alice))).status).toBe('done')
    const other = await app.request(`/v1/detect/jobs/${id}`, { headers: as(bob) })
    expect(other.status).toBe(404)
    expect(ErrorResponse.parse(await other.json()).error.code).toBe('not_found')
    const unknown = await app.request(`/v1/detect/jobs/${crypto.randomUUID()}`, { headers: as(alice) })
    expect(unknown.status).toBe(404)
  })

  it('resumes after a restart: images accepted while no runner answered are scored by the next edge on the same files', async () => {
    const dir = await workDir()
    const before = await edgeWithJobs(dir, { r1: 'down' })
    const res = await submit(before.app, form([0, 1, 2].map((i) => ({ name: 'image', value: variant(i), filename: `r${i}.png` }))))
    const { id } = DetectJobAccepted.parse(await res.json())
    expect((await before.spooled()).length).toBe(3)
    const stopped = open.pop()
    await stopped?.jobs.close()
    stopped?.db.$client.close()
    // A job folder with no job row is what a crash in the middle of accepting leaves: the next start deletes it.
    await mkdir(join(dir, 'spool', 'jobs', 'half-accepted'), { recursive: true })
    const after = await edgeWithJobs(dir, { r1: oipPeer() })
    const done = await untilEnded(after.app, id)
    expect(done.progress).toEqual({ total: 3, done: 3, scored: 3, failed: 0 })
    expect(done.result?.images.map((image) => image.filename)).toEqual(['r0.png', 'r1.png', 'r2.png'])
    expect((await after.db.select().from(detections)).filter((row) => row.requestId === id)).toHaveLength(3)
    // The job's folder goes right after the job is marked done (never before, so a crash cannot lose its images).
    await expect.poll(() => readdir(join(dir, 'spool', 'jobs'))).toEqual([])
  })

  it('fetches a JSON list of URLs when its turn comes; a URL that fails is one failed item', async () => {
    const dir = await workDir()
    const db = await createDb(`file:${join(dir, 'genimage.db')}`)
    const peer = oipPeer()
    const runners = new RunnerPool(['http://r1'], {
      refreshMs: 0,
      fetchFn: ((input: RequestInfo | URL, init?: RequestInit) => peer.app.fetch(new Request(input, init))) as typeof fetch,
    })
    const fetchUrl = (async (input: RequestInfo | URL) => {
      const url = String(input)
      if (url.endsWith('/missing.png')) return new Response('gone', { status: 404 })
      return new Response(url.endsWith('/a.jpg') ? JPEG_8x8 : PNG_8x8, { headers: { 'content-type': 'image/png' } })
    }) as typeof fetch
    const jobs = new DetectJobs({ db, spool: await openFileSpool({ dir: join(dir, 'spool'), maxBytes: 1024 * 1024 }), idlePollMs: 50 })
    const app = createApp({
      store: createLibsqlStore(db),
      runners,
      log: () => {},
      detectJobs: jobs,
      resolveHost: async () => ['93.184.216.34'],
      fetchUrl,
      config: { allowUrlInput: true },
    })
    await jobs.start()
    open.push({ jobs, db })
    const urls = ['https://images.example/a.jpg', 'https://images.example/missing.png', 'https://images.example/b.png']
    const res = await app.request('/v1/detect?async=true', { method: 'POST', body: JSON.stringify({ urls }), headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(202)
    const { id } = DetectJobAccepted.parse(await res.json())
    const done = await untilEnded(app, id)
    expect(done.progress).toEqual({ total: 3, done: 3, scored: 2, failed: 1 })
    expect(done.failures.map((f) => [f.index, f.code])).toEqual([[1, 'url_fetch_failed']])
    expect(done.result?.images.map((image) => image.bytes)).toEqual([JPEG_8x8.byteLength, PNG_8x8.byteLength])
  })

  it('holds 1,000 images in one job and scores them all; each model named answers in results', async () => {
    const { app, db, spooled } = await edgeWithJobs(await workDir(), { r1: oipPeer({ models: ['a', 'b'] }) })
    const parts = [
      ...Array.from({ length: 1000 }, (_, i) => ({ name: 'image', value: variant(i) })),
      { name: 'model', value: 'a' },
      { name: 'model', value: 'b' },
    ]
    const res = await submit(app, form(parts))
    expect(res.status).toBe(202)
    const { id, models } = DetectJobAccepted.parse(await res.json())
    expect(models).toEqual(['a', 'b'])
    const done = await untilEnded(app, id, {}, '?limit=1000')
    expect(done.progress).toEqual({ total: 1000, done: 1000, scored: 1000, failed: 0 })
    expect(done.result?.images.map((image) => image.index)).toEqual([...Array(1000).keys()])
    expect(done.result?.results?.map((answer) => [answer.model.name, answer.images.length])).toEqual([
      ['a', 1000],
      ['b', 1000],
    ])
    expect((await db.select().from(detections)).filter((row) => row.requestId === id)).toHaveLength(2000)
    expect(await spooled()).toEqual([])
  })

  it('enqueues one signed-callback delivery holding the finished job, and shows it on GET', async () => {
    const { app, db } = await edgeWithJobs(
      await workDir(),
      { r1: oipPeer() },
      {
        config: { apiKeys: 'required', callbackAllowedHosts: ['127.0.0.1:9'] },
        callbacks: (db) => ({
          async check(url, apiKeyId) {
            const checked = await checkCallbackUrl(url, { allowedHosts: ['127.0.0.1:9'] })
            await assertCallbackSignable(libsqlKeyStore(db), apiKeyId, undefined)
            return checked
          },
          enqueue: enqueueCallback,
        }),
      },
    )
    const key = await createApiKey(db, { name: 'hooks', scopes: ['detect'] })
    const headers = { authorization: `Bearer ${key.secret}` }
    const refused = await submit(
      app,
      form([
        { name: 'image', value: PNG_8x8 },
        { name: 'callback_url', value: 'http://10.0.0.1/hook' },
      ]),
      headers,
    )
    expect(ErrorResponse.parse(await refused.json()).error.code).toBe('callback_url_not_allowed')
    expect(await db.select().from(detectJobs)).toEqual([])
    const res = await submit(
      app,
      form([
        { name: 'image', value: PNG_8x8 },
        { name: 'callback_url', value: 'http://127.0.0.1:9/hook' },
      ]),
      headers,
    )
    const { id, callback_url } = DetectJobAccepted.parse(await res.json())
    expect(callback_url).toBe('http://127.0.0.1:9/hook')
    await untilEnded(app, id, headers)
    // The delivery is stored a moment after the job ends; GET shows it from then on.
    let done = await untilEnded(app, id, headers)
    while (!done.callback) done = await untilEnded(app, id, headers)
    const deliveries = await db.select().from(callbackDeliveries)
    expect(deliveries.map((d) => [d.jobId, d.url, d.apiKeyId])).toEqual([[id, 'http://127.0.0.1:9/hook', key.id]])
    const delivered = DetectJobStatus.parse(JSON.parse(deliveries[0]?.body ?? '{}'))
    expect(delivered.result?.images).toEqual(done.result?.images)
    expect(done.callback?.id).toBe(deliveries[0]?.id)
    expect(done.callback?.state).toBe('pending')
  })

  it('reads async bodies up to BATCH_MAX_REQUEST_BYTES, apart from the sync limit', async () => {
    const config = { maxRequestBytes: 64 * 1024, maxBatchRequestBytes: 256 * 1024 }
    const { app } = await edgeWithJobs(await workDir(), { r1: oipPeer() }, { config })
    const padded = (i: number) => new Uint8Array([...variant(i), ...new Uint8Array(20 * 1024)])
    const batch = () => form([0, 1, 2, 3, 4].map((i) => ({ name: 'image', value: padded(i) })))
    expect((await submit(app, batch(), {}, '')).status).toBe(413)
    const accepted = await submit(app, batch())
    expect(accepted.status).toBe(202)
    const big = form(Array.from({ length: 14 }, (_, i) => ({ name: 'image', value: padded(i) })))
    const refused = await submit(app, big)
    expect(refused.status).toBe(413)
    expect(ErrorResponse.parse(await refused.json()).error.code).toBe('payload_too_large')
  })

  it('puts the spool beside a file database unless SPOOL_DIR says otherwise', () => {
    expect(edgeEnvironment({ DATABASE_URL: 'file:/srv/genimage/genimage.db' }).spool).toEqual({ dir: '/srv/genimage/spool', maxBytes: 1024 ** 3 })
    expect(edgeEnvironment({}).spool.dir).toBe('./data/spool')
    expect(edgeEnvironment({ SPOOL_DIR: '/var/spool/genimage', SPOOL_MAX_BYTES: '1048576' }).spool).toEqual({ dir: '/var/spool/genimage', maxBytes: 1048576 })
  })
})
