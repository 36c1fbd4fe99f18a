import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DetectJobAccepted, DetectJobStatus, ErrorResponse } from '@genimage/shared'
import { createApiKey, createDb, type Db, detections } from '@genimage/shared/db'
import { eq } from 'drizzle-orm'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handmadeModelAndPhoto, type Started, startGenimage } from '../support/processes.ts'

const BATCH = 240
const CORRUPT = 200
let work: string
let runner: Started
let edge: Started
let edgeEnv: Record<string, string>
let db: Db
let alice: string
let bob: string
let images: Buffer[]

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'genimage-async-'))
  const { photo } = await handmadeModelAndPhoto(work)
  // Distinct real images: 96×96 crops of one shipped photograph at different offsets, as PNG.
  const { data, info } = await sharp(photo).resize(640).png().toBuffer({ resolveWithObject: true })
  const { width, height } = info
  images = await Promise.all(
    Array.from({ length: BATCH }, (_, i) =>
      sharp(data)
        .extract({ left: (i * 7) % (width - 96), top: (i * 13) % (height - 96), width: 96, height: 96 })
        .png()
        .toBuffer(),
    ),
  )
  const databaseUrl = `file:${join(work, 'genimage.db')}`
  db = await createDb(databaseUrl)
  alice = (await createApiKey(db, { name: 'alice', scopes: ['detect'] })).secret
  bob = (await createApiKey(db, { name: 'bob', scopes: ['detect'] })).secret
  runner = await startGenimage('runner', { RUNNER_PORT: '0', MODEL_DIR: join(work, 'models'), EXECUTION_PROVIDERS: 'cpu' })
  edgeEnv = { PORT: '0', RUNNER_URLS: runner.url, RUNNER_REGISTRY: 'false', DATABASE_URL: databaseUrl, SPOOL_DIR: join(work, 'spool') }
  edge = await startGenimage('edge', edgeEnv)
})

afterAll(async () => {
  db?.$client.close()
  await edge?.stop()
  await runner?.stop()
  await rm(work, { recursive: true, force: true })
})

const as = (secret: string) => ({ authorization: `Bearer ${secret}` })
const blob = (bytes: Uint8Array) => new Blob([bytes as Uint8Array<ArrayBuffer>])

function batchForm(list: Uint8Array[]): FormData {
  const form = new FormData()
  for (const [i, bytes] of list.entries()) form.append('image', blob(bytes), `crop-${i}.png`)
  return form
}

async function jobStatus(id: string, secret = alice, query = ''): Promise<DetectJobStatus> {
  await new Promise((resolve) => setTimeout(resolve, 25))
  const res = await fetch(`${edge.url}/v1/detect/jobs/${id}${query}`, { headers: as(secret) })
  expect(res.status).toBe(200)
  return DetectJobStatus.parse(await res.json())
}

async function spooledFiles(): Promise<string[]> {
  // The edge deletes a job's folder right after the job ends, so a listing may meet a folder that is just gone: list again.
  for (;;) {
    try {
      return (await readdir(join(work, 'spool', 'jobs'), { recursive: true })).filter((name) => name.includes('/'))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
}

describe('async detect end to end: spool, kill -9 of the edge, resume', () => {
  it('finishes a batch after the edge is killed mid-way, scoring every image once and emptying the spool', async () => {
    // One image of the batch is cut short: the runner cannot decode it, and only that image fails.
    const list = [...images]
    list[CORRUPT] = Buffer.from((images[CORRUPT] as Buffer).subarray(0, 200))
    const res = await fetch(`${edge.url}/v1/detect?async=true`, { method: 'POST', body: batchForm(list), headers: as(alice) })
    expect(res.status).toBe(202)
    const accepted = DetectJobAccepted.parse(await res.json())
    expect(res.headers.get('location')).toBe(`/v1/detect/jobs/${accepted.id}`)
    expect(accepted.progress.total).toBe(BATCH)

    // Kill the edge with SIGKILL as soon as part of the batch is scored.
    let seen = await jobStatus(accepted.id)
    const deadline = Date.now() + 30_000
    while (seen.progress.scored === 0 && Date.now() < deadline) seen = await jobStatus(accepted.id)
    const exited = new Promise((done) => edge.child.once('exit', done))
    edge.child.kill('SIGKILL')
    await exited
    const scoredBeforeKill = (await db.select().from(detections).where(eq(detections.requestId, accepted.id))).length
    expect(scoredBeforeKill).toBeGreaterThan(0)
    expect(scoredBeforeKill).toBeLessThan(BATCH - 1)
    expect((await spooledFiles()).length).toBeGreaterThan(0)

    edge = await startGenimage('edge', edgeEnv)
    let status = await jobStatus(accepted.id)
    const finish = Date.now() + 30_000
    while (status.status !== 'done' && status.status !== 'failed' && Date.now() < finish) status = await jobStatus(accepted.id)
    expect(status.status).toBe('done')
    expect(status.progress).toEqual({ total: BATCH, done: BATCH, scored: BATCH - 1, failed: 1 })

    const rows = await db.select().from(detections).where(eq(detections.requestId, accepted.id))
    expect(rows).toHaveLength(BATCH - 1)
    expect(new Set(rows.map((row) => row.imageSha256)).size).toBe(BATCH - 1)
    expect(await spooledFiles()).toEqual([])

    // All pages together: every image once, in upload order, the corrupt one as a failure.
    const indexes: number[] = []
    const failures: [number, string][] = []
    let page = await jobStatus(accepted.id, alice, '?limit=100')
    for (;;) {
      indexes.push(...(page.result?.images.map((image) => image.index) ?? []))
      failures.push(...page.failures.map((f): [number, string] => [f.index, f.code]))
      if (!page.next_cursor) break
      page = await jobStatus(accepted.id, alice, `?limit=100&cursor=${page.next_cursor}`)
    }
    expect(indexes).toEqual([...Array(BATCH).keys()].filter((i) => i !== CORRUPT))
    expect(failures).toEqual([[CORRUPT, 'corrupt_image']])
    expect(new Set(page.result?.images.map((image) => image.detection_id)).size).toBe(page.result?.images.length)
  })

  it('refuses bad async input with stable codes', async () => {
    const tiny = images[0] as Uint8Array
    const tooMany = await fetch(`${edge.url}/v1/detect?async=true`, { method: 'POST', body: batchForm(Array(1001).fill(tiny)), headers: as(alice) })
    expect(tooMany.status).toBe(413)
    expect(ErrorResponse.parse(await tooMany.json()).error.code).toBe('batch_too_large')
    const badAsync = await fetch(`${edge.url}/v1/detect?async=soon`, { method: 'POST', body: batchForm([tiny]), headers: as(alice) })
    expect(badAsync.status).toBe(400)
    expect(ErrorResponse.parse(await badAsync.json()).error.code).toBe('invalid_request')
    const unknown = await fetch(`${edge.url}/v1/detect/jobs/${crypto.randomUUID()}`, { headers: as(alice) })
    expect(unknown.status).toBe(404)
    expect(ErrorResponse.parse(await unknown.json()).error.code).toBe('not_found')
    const mine = DetectJobAccepted.parse(
      await (await fetch(`${edge.url}/v1/detect`, { method: 'POST', body: batchForm([tiny]), headers: { ...as(alice), prefer: 'respond-async' } })).json(),
    )
    const theirs = await fetch(`${edge.url}/v1/detect/jobs/${mine.id}`, { headers: as(bob) })
    expect(theirs.status).toBe(404)
    expect(ErrorResponse.parse(await theirs.json()).error.code).toBe('not_found')
  })
})
