import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DetectResponse, ErrorResponse, ModelsResponse } from '@genimage/shared'
import { createDb, type Db, detections } from '@genimage/shared/db'
import { eq } from 'drizzle-orm'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handmadeModelAndPhoto, type Started, startGenimage } from '../support/processes.ts'

let work: string
let runner: Started
let edge: Started
let db: Db
let jpeg: Buffer
let png: Buffer

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'genimage-e2e-'))
  jpeg = (await handmadeModelAndPhoto(work)).photo
  png = await sharp(jpeg).resize(320).png().toBuffer()
  const databaseUrl = `file:${join(work, 'genimage.db')}`
  runner = await startGenimage('runner', { RUNNER_PORT: '0', MODEL_DIR: join(work, 'models'), EXECUTION_PROVIDERS: 'cuda,cpu' })
  edge = await startGenimage('edge', { PORT: '0', RUNNER_URLS: runner.url, DATABASE_URL: databaseUrl, MAX_REQUEST_BYTES: String(4 * 1024 * 1024) })
  db = await createDb(databaseUrl)
})

afterAll(async () => {
  db?.$client.close()
  await edge?.stop()
  await runner?.stop()
  await rm(work, { recursive: true, force: true })
})

const detect = (parts: [string, Blob | string, string?][]) => {
  const form = new FormData()
  for (const [name, value, filename] of parts) {
    if (typeof value === 'string') form.append(name, value)
    else form.append(name, value, filename)
  }
  return fetch(`${edge.url}/v1/detect`, { method: 'POST', body: form })
}
const blob = (bytes: Uint8Array) => new Blob([bytes as Uint8Array<ArrayBuffer>])

describe('detect end to end: edge → runner → ONNX → libSQL', () => {
  it('lists the served model with its card', async () => {
    const body = ModelsResponse.parse(await (await fetch(`${edge.url}/v1/models`)).json())
    expect(body.models.map((m) => [m.name, m.provenance, m.runners])).toEqual([['npr-residual-handmade', 'handmade', 1]])
  })

  it('scores a real JPEG and a real PNG and records a row for each', async () => {
    const res = await detect([
      ['image', blob(jpeg), 'photo.jpg'],
      ['image', blob(png), 'photo.png'],
    ])
    expect(res.status).toBe(200)
    const body = DetectResponse.parse(await res.json())
    expect(body.model.name).toBe('npr-residual-handmade')
    expect(body.images).toHaveLength(2)
    for (const image of body.images) {
      expect(image.ai_generated).toBeGreaterThan(0)
      expect(image.ai_generated).toBeLessThan(1)
      expect(image.scores.ai! + image.scores.nature!).toBeCloseTo(1, 5)
    }
    const rows = await db.select().from(detections).where(eq(detections.requestId, body.id))
    expect(rows.map((r) => r.imageSha256).sort()).toEqual(body.images.map((i) => i.sha256).sort())
    const jpegRow = rows.find((r) => r.imageSha256 === body.images[0]?.sha256)
    expect(jpegRow?.aiGenerated).toBeCloseTo(body.images[0]?.ai_generated ?? -1, 6)
    expect(jpegRow?.imageBytes).toBe(jpeg.byteLength)
    expect(jpegRow?.runner).toBe(runner.url)
    expect(Object.keys(jpegRow ?? {})).not.toContain('image')
  })

  it('gives the same score to the same bytes every time', async () => {
    const scores = []
    for (let i = 0; i < 2; i++) scores.push(DetectResponse.parse(await (await detect([['image', blob(png)]])).json()).images[0]?.ai_generated)
    expect(scores[0]).toBe(scores[1])
  })

  const refused = async (parts: Parameters<typeof detect>[0], status: number, code: string) => {
    const before = (await db.select().from(detections)).length
    const started = performance.now()
    const res = await detect(parts)
    const elapsed = performance.now() - started
    expect(res.status).toBe(status)
    expect(ErrorResponse.parse(await res.json()).error.code).toBe(code)
    expect((await db.select().from(detections)).length).toBe(before)
    expect(runner.alive() && edge.alive()).toBe(true)
    return elapsed
  }

  it('refuses bad input with clear codes, writes no row and keeps both processes up', async () => {
    await refused([['image', blob(new TextEncoder().encode('%PDF-1.7 not an image')), 'x.png']], 415, 'unsupported_media_type')
    await refused([['image', blob(new Uint8Array(5 * 1024 * 1024).fill(0xff)), 'big.jpg']], 413, 'payload_too_large')
    const bomb = Buffer.from(png.subarray(0, 33))
    bomb.writeUInt32BE(100_000, 16)
    bomb.writeUInt32BE(100_000, 20)
    expect(await refused([['image', blob(bomb), 'bomb.png']], 422, 'image_too_large')).toBeLessThan(1000)
    await refused([['image', blob(jpeg.subarray(0, Math.floor(jpeg.length / 3))), 'cut.jpg']], 422, 'corrupt_image')
    await refused(
      [
        ['image', blob(jpeg)],
        ['model', 'no-such-model'],
      ],
      404,
      'model_not_found',
    )
  })

  it('answers 503 no_runner_available when the runner is gone, and keeps the edge up', async () => {
    await runner.stop()
    await new Promise((r) => setTimeout(r, 100))
    const res = await detect([['image', blob(jpeg)]])
    expect(res.status).toBe(503)
    expect(ErrorResponse.parse(await res.json()).error.code).toBe('no_runner_available')
    expect(edge.alive()).toBe(true)
  })
})
