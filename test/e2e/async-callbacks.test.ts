import { createHmac, timingSafeEqual } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DetectJobAccepted, DetectJobStatus } from '@genimage/shared'
import { createApiKey, createDb, findCallbackDeliveryForJob } from '@genimage/shared/db'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handmadeModelAndPhoto, type Started, startGenimage } from '../support/processes.ts'

/**
 * The receiver's check as the README shows it, written with node:crypto apart from the edge's web-crypto signer:
 * the HMAC-SHA256 of "<t>.<raw body>" under the key's callback secret, and a timestamp at most 5 minutes old.
 */
function verifyGenimageCallback(secret: string, header: string, rawBody: string, toleranceSeconds = 300): boolean {
  const fields = Object.fromEntries(header.split(',').map((part) => part.trim().split('=')))
  const t = Number(fields.t)
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${rawBody}`).digest('hex'))
  const given = Buffer.from(String(fields.v1 ?? ''))
  return given.length === expected.length && timingSafeEqual(given, expected)
}

interface Delivery {
  headers: IncomingHttpHeaders
  body: string
}

let work = ''
let photo: Buffer
const started: Started[] = []
const servers: Server[] = []

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'genimage-callbacks-'))
  ;({ photo } = await handmadeModelAndPhoto(work))
})
afterAll(async () => {
  for (const process of started.reverse()) await process.stop()
  for (const server of servers) server.close()
  await rm(work, { recursive: true, force: true })
})

/** A receiver on loopback that records deliveries and answers 200. */
async function receiverOn(port: number, deliveries: Delivery[]): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done))
  servers.push(server)
  return server
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 100))
  }
}

describe('async detect with a signed callback, across a kill -9 of the edge', () => {
  it('retries while the receiver is down, survives the edge being killed, and delivers once it is back, signed', async () => {
    const databaseUrl = `file:${join(work, 'genimage.db')}`
    const db = await createDb(databaseUrl)
    const key = await createApiKey(db, { name: 'moderation', scopes: ['detect'] })

    // Reserve a port for the receiver, then leave it closed: the receiver is down when the job finishes.
    const probe = await receiverOn(0, [])
    const port = (probe.address() as AddressInfo).port
    await new Promise<void>((done) => probe.close(() => done()))

    const runner = await startGenimage('runner', { RUNNER_PORT: '0', MODEL_DIR: join(work, 'models'), EXECUTION_PROVIDERS: 'cpu' })
    started.push(runner)
    const edgeEnv = {
      PORT: '0',
      RUNNER_URLS: runner.url,
      RUNNER_REGISTRY: 'false',
      DATABASE_URL: databaseUrl,
      SPOOL_DIR: join(work, 'spool'),
      CALLBACK_ALLOWED_HOSTS: `127.0.0.1:${port}`,
      CALLBACK_RETRY_BASE_MS: '200',
    }
    const edge = await startGenimage('edge', edgeEnv)
    started.push(edge)

    const form = new FormData()
    form.append('image', new Blob([photo as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), 'photo.jpg')
    form.append('callback_url', `http://127.0.0.1:${port}/hooks/genimage`)
    const accepted = await fetch(`${edge.url}/v1/detect?async=true`, { method: 'POST', body: form, headers: { authorization: `Bearer ${key.secret}` } })
    expect(accepted.status).toBe(202)
    const job = DetectJobAccepted.parse(await accepted.json())

    // The job finishes; its callback fails at least twice (connection refused) and stays pending.
    const pending = await until(async () => {
      const row = await findCallbackDeliveryForJob(db, job.id)
      return row && row.attempts >= 2 ? row : undefined
    }, 'two failed callback attempts')
    expect(pending.state).toBe('pending')
    expect(pending.lastError).toMatch(/ECONNREFUSED/)

    edge.child.kill('SIGKILL')
    await new Promise((done) => edge.child.once('exit', done))

    const deliveries: Delivery[] = []
    await receiverOn(port, deliveries)
    const restarted = await startGenimage('edge', edgeEnv)
    started.push(restarted)
    await until(async () => (deliveries.length > 0 ? true : undefined), 'the callback after the restart')

    const [delivery] = deliveries
    if (!delivery) throw new Error('no delivery')
    expect(delivery.headers['genimage-delivery']).toBe(pending.id)
    expect(delivery.headers['genimage-job']).toBe(job.id)
    expect(Number(delivery.headers['genimage-delivery-attempt'])).toBeGreaterThanOrEqual(3)
    expect(verifyGenimageCallback(key.callback_secret, String(delivery.headers['genimage-signature']), delivery.body)).toBe(true)
    expect(verifyGenimageCallback(key.secret, String(delivery.headers['genimage-signature']), delivery.body)).toBe(false)

    // The callback carries what GET answers for the finished job.
    const status = DetectJobStatus.parse(JSON.parse(delivery.body))
    expect(status).toMatchObject({ id: job.id, status: 'done' })
    expect(status.result?.images).toHaveLength(1)
    const read = await fetch(`${restarted.url}/v1/detect/jobs/${job.id}`, { headers: { authorization: `Bearer ${key.secret}` } })
    const shown = DetectJobStatus.parse(await read.json())
    expect(shown.result).toEqual(status.result)
    const delivered = await until(async () => {
      const row = await findCallbackDeliveryForJob(db, job.id)
      return row?.state === 'delivered' ? row : undefined
    }, 'the delivery recorded')
    expect(delivered.lastStatus).toBe(204)
    db.$client.close()
  })
})
