import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DetectResponse, ErrorResponse } from '@genimage/shared'
import { createDb, type Db, detections } from '@genimage/shared/db'
import { eq } from 'drizzle-orm'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTestPki, signImage, tamperJpeg } from '../../packages/gpu-runner/test/content-credentials-fixtures.ts'
import { handmadeModelAndPhoto, type Started, startGenimage } from '../support/processes.ts'

let work: string
let runner: Started
let edge: Started
let db: Db
let photo: Buffer
let signed: Buffer

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'genimage-e2e-c2pa-'))
  const shipped = (await handmadeModelAndPhoto(work)).photo
  await mkdir(join(work, 'pki'))
  const pki = await makeTestPki(join(work, 'pki'))
  photo = await sharp(shipped).resize(256).jpeg({ quality: 90 }).toBuffer()
  signed = signImage(pki, photo, 'image/jpeg')
  const databaseUrl = `file:${join(work, 'genimage.db')}`
  runner = await startGenimage('runner', { RUNNER_PORT: '0', MODEL_DIR: join(work, 'models'), EXECUTION_PROVIDERS: 'cpu', C2PA_TRUST_ANCHORS: pki.caPath })
  // Threshold 1: the classifier alone never answers ai, so an ai verdict can only come from the credentials.
  edge = await startGenimage('edge', { PORT: '0', RUNNER_URLS: runner.url, DATABASE_URL: databaseUrl, DETECT_THRESHOLD: '1' })
  db = await createDb(databaseUrl)
})

afterAll(async () => {
  db?.$client.close()
  await edge?.stop()
  await runner?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

const detect = (images: [Uint8Array, string][]) => {
  const form = new FormData()
  for (const [bytes, filename] of images) form.append('image', new Blob([bytes as Uint8Array<ArrayBuffer>]), filename)
  return fetch(`${edge.url}/v1/detect`, { method: 'POST', body: form })
}

describe('C2PA content credentials end to end: edge → runner (C2PA_TRUST_ANCHORS) → answer and libSQL row', () => {
  it('answers ai for a signed AI image by its credentials, names the signer, and keeps the classifier score', async () => {
    const res = await detect([
      [signed, 'signed.jpg'],
      [tamperJpeg(signed), 'tampered.jpg'],
      [photo, 'photo.jpg'],
    ])
    expect(res.status).toBe(200)
    const body = DetectResponse.parse(await res.json())
    const [ai, tampered, plain] = body.images
    expect(ai).toMatchObject({
      verdict: 'ai',
      verdict_reason: 'content_credentials',
      content_credentials: {
        present: true,
        state: 'valid',
        declares_ai: true,
        signer: { issuer: 'Test Generator Inc', common_name: 'Test Generator Signer' },
        claim_generator: 'genimage-test/1',
      },
    })
    expect(ai?.ai_generated).toBeGreaterThan(0)
    expect(ai?.ai_generated).toBeLessThan(1)
    expect(tampered).toMatchObject({ verdict: 'real', verdict_reason: 'score', content_credentials: { present: true, state: 'invalid', declares_ai: true } })
    expect(tampered?.content_credentials?.reasons.join('\n')).toMatch(/dataHash\.mismatch/)
    expect(plain).toMatchObject({ verdict: 'real', verdict_reason: 'score', content_credentials: { present: false } })
    const rows = await db.select().from(detections).where(eq(detections.requestId, body.id))
    expect(rows.find((r) => r.imageSha256 === ai?.sha256)).toMatchObject({ verdict: 'ai', contentCredentials: ai?.content_credentials })
    expect(rows.find((r) => r.imageSha256 === tampered?.sha256)).toMatchObject({ verdict: 'real', contentCredentials: { state: 'invalid' } })
  })

  it('refuses hostile uploads that carry the C2PA label with a code, and both processes stay up', async () => {
    const label = signed.indexOf('c2pa')
    const random = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(3000, 0x63)])
    random.write('c2pa', 100, 'latin1')
    for (const hostile of [signed.subarray(0, label + 300), random]) {
      const res = await detect([[hostile, 'hostile.jpg']])
      expect(res.status).toBe(422)
      expect(ErrorResponse.parse(await res.json()).error.code).toBe('corrupt_image')
    }
    expect(runner.alive() && edge.alive()).toBe(true)
    expect((await detect([[signed, 'again.jpg']])).status).toBe(200)
  })
})
