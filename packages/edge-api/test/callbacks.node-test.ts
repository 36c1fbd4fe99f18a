import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { claimDueCallbackDeliveries, createApiKey, createDb, type Db, findCallbackDeliveryForJob, findCallbackSecret, schema } from '@genimage/shared/db'
import { eq } from 'drizzle-orm'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import {
  assertCallbackSignable,
  type CallbackDeliverer,
  checkCallbackUrl,
  DEFAULT_RETRY_POLICY,
  enqueueCallback,
  type RetryPolicy,
  startCallbackDeliverer,
  verifyCallbackSignature,
} from '../src/callbacks/index.ts'
import { edgeEnvironment } from '../src/config.ts'
import { createPinnedFetch } from '../src/entries/node-pinned-fetch.ts'
import { ApiError } from '../src/errors.ts'
import { libsqlKeyStore } from '../src/store/libsql-keys.ts'

interface Received {
  headers: IncomingHttpHeaders
  body: string
  at: number
}

/** A callback receiver on loopback: records every POST and answers the next status of `statuses` (the last one repeats). */
class Receiver {
  readonly received: Received[] = []
  private server?: Server
  port = 0

  constructor(private statuses: number[] = [200]) {}

  async listen(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() })
        const status = this.statuses.length > 1 ? (this.statuses.shift() as number) : (this.statuses[0] ?? 200)
        res.writeHead(status, status === 302 ? { location: 'http://127.0.0.1:9/elsewhere' } : {})
        res.end()
      })
    })
    const server = this.server
    await new Promise<void>((done) => server.listen(port, '127.0.0.1', done))
    this.port = (server.address() as AddressInfo).port
    return this
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/genimage`
  }

  async close(): Promise<void> {
    const server = this.server
    if (server) await new Promise<void>((done) => server.close(() => done()))
    this.server = undefined
  }
}

const folders: string[] = []
const receivers: Receiver[] = []
const deliverers: CallbackDeliverer[] = []
afterEach(async () => {
  for (const deliverer of deliverers.splice(0)) await deliverer.stop()
  for (const receiver of receivers.splice(0)) await receiver.close()
})
afterAll(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

async function database(): Promise<Db> {
  const folder = mkdtempSync(join(tmpdir(), 'callbacks-'))
  folders.push(folder)
  return createDb(`file:${join(folder, 'genimage.db')}`)
}

async function receiver(statuses?: number[]): Promise<Receiver> {
  const r = await new Receiver(statuses).listen()
  receivers.push(r)
  return r
}

/** A deliverer as the Node entry builds it: key secrets from the database, the pinned fetch for every attempt. */
function deliver(db: Db, allowedHosts: string[], retry: Partial<RetryPolicy> = {}): CallbackDeliverer {
  const deliverer = startCallbackDeliverer({
    db,
    secretFor: async (keyId) => (keyId ? findCallbackSecret(db, keyId) : undefined),
    urlRules: { allowedHosts, resolveHost: async () => ['93.184.216.34'] },
    fetchFor: (allowPrivate) => createPinnedFetch(allowPrivate ? () => true : undefined),
    retry: { ...DEFAULT_RETRY_POLICY, baseMs: 100, ...retry },
    pollMs: 50,
    timeoutMs: 2000,
  })
  deliverers.push(deliverer)
  return deliverer
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((done) => setTimeout(done, 25))
  }
}

/** The receiver's check, written with node:crypto apart from the edge's web-crypto signer. */
function independentlyValid(secret: string, header: string, body: string): boolean {
  const fields = Object.fromEntries(header.split(',').map((part) => part.split('=')))
  const expected = createHmac('sha256', secret).update(`${fields.t}.${body}`).digest('hex')
  return fields.v1 === expected && Math.abs(Date.now() / 1000 - Number(fields.t)) < 300
}

const RESULT = { id: 'job_1', status: 'succeeded', results: [{ verdict: 'ai', ai_generated: 0.93 }] }

describe('signed callbacks of async jobs', () => {
  it('POSTs the result signed with the key secret; an independent HMAC check accepts it and a tampered body fails', async () => {
    const db = await database()
    const key = await createApiKey(db, { name: 'moderation', scopes: ['detect'] })
    const hook = await receiver()
    deliver(db, [`127.0.0.1:${hook.port}`])
    const row = await enqueueCallback(db, { jobId: 'job_1', apiKeyId: key.id, url: hook.url, body: RESULT })

    const [got] = await until(() => (hook.received.length > 0 ? hook.received : undefined))
    if (!got) throw new Error('no callback')
    expect(JSON.parse(got.body)).toEqual(RESULT)
    expect(got.headers['content-type']).toBe('application/json')
    expect(got.headers['genimage-delivery']).toBe(row.id)
    expect(got.headers['genimage-job']).toBe('job_1')
    expect(got.headers['genimage-delivery-attempt']).toBe('1')
    const signature = String(got.headers['genimage-signature'])
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
    expect(independentlyValid(key.callback_secret, signature, got.body)).toBe(true)
    expect(independentlyValid(key.secret, signature, got.body)).toBe(false)
    expect(await verifyCallbackSignature(key.callback_secret, signature, got.body)).toBe(true)
    expect(await verifyCallbackSignature(key.callback_secret, signature, got.body.replace('0.93', '0.01'))).toBe(false)
    expect(await verifyCallbackSignature(key.callback_secret, signature, got.body, { nowSeconds: Date.now() / 1000 + 600 })).toBe(false)

    const stored = await until(async () => {
      const r = await findCallbackDeliveryForJob(db, 'job_1')
      return r?.state === 'delivered' ? r : undefined
    })
    expect(stored).toMatchObject({ attempts: 1, lastStatus: 200, lastError: null })
    // Enqueueing the same job again (an edge finishing it twice around a restart) keeps the one delivery.
    expect((await enqueueCallback(db, { jobId: 'job_1', apiKeyId: key.id, url: hook.url, body: RESULT })).id).toBe(row.id)
    await new Promise((done) => setTimeout(done, 200))
    expect(hook.received).toHaveLength(1)
  })

  it('retries with growing waits while the receiver is down or answers 503, always with the same delivery id', async () => {
    const db = await database()
    const key = await createApiKey(db, { name: 'moderation', scopes: ['detect'] })
    const hook = await receiver([503, 503, 200])
    const port = hook.port
    await hook.close() // down: connection refused for the first attempts
    deliver(db, [`127.0.0.1:${port}`])
    const row = await enqueueCallback(db, { jobId: 'job_2', apiKeyId: key.id, url: `http://127.0.0.1:${port}/hook`, body: RESULT })
    const down = await until(async () => {
      const r = await findCallbackDeliveryForJob(db, 'job_2')
      return r && r.attempts >= 2 ? r : undefined
    })
    expect(down.state).toBe('pending')
    expect(down.lastStatus).toBeNull()
    expect(down.lastError).toMatch(/ECONNREFUSED/)

    await hook.listen(port)
    const done = await until(async () => {
      const r = await findCallbackDeliveryForJob(db, 'job_2')
      return r?.state === 'delivered' ? r : undefined
    })
    expect(hook.received.map((r) => r.headers['genimage-delivery'])).toEqual([row.id, row.id, row.id])
    const attempts = hook.received.map((r) => Number(r.headers['genimage-delivery-attempt']))
    expect(attempts).toEqual([done.attempts - 2, done.attempts - 1, done.attempts])
    // Exponential backoff: the wait before attempt n is at least 0.8 · 100 ms · 2^(n−2).
    const [first, second, third] = hook.received.map((r) => r.at)
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(0.8 * 100 * 2 ** ((attempts[1] ?? 2) - 2) - 5)
    expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(0.8 * 100 * 2 ** ((attempts[2] ?? 3) - 2) - 5)
  })

  it('gives up after the last attempt and says why; redirects are not followed', async () => {
    const db = await database()
    const key = await createApiKey(db, { name: 'moderation', scopes: ['detect'] })
    const failing = await receiver([500])
    const moving = await receiver([302])
    deliver(db, [`127.0.0.1:${failing.port}`, `127.0.0.1:${moving.port}`], { maxAttempts: 2 })
    await enqueueCallback(db, { jobId: 'job_500', apiKeyId: key.id, url: failing.url, body: RESULT })
    await enqueueCallback(db, { jobId: 'job_302', apiKeyId: key.id, url: moving.url, body: RESULT })
    const failed = await until(async () => {
      const r = await findCallbackDeliveryForJob(db, 'job_500')
      return r?.state === 'failed' ? r : undefined
    })
    expect(failed).toMatchObject({ attempts: 2, lastStatus: 500, lastError: 'the receiver answered 500' })
    expect(failing.received).toHaveLength(2)
    const redirected = await until(async () => {
      const r = await findCallbackDeliveryForJob(db, 'job_302')
      return r?.state === 'failed' ? r : undefined
    })
    expect(redirected.lastError).toMatch(/302 \(callbacks do not follow redirects\)/)
  })

  it('never connects to a private host that is not in CALLBACK_ALLOWED_HOSTS, even when the row names one', async () => {
    const db = await database()
    const key = await createApiKey(db, { name: 'moderation', scopes: ['detect'] })
    const hook = await receiver()
    deliver(db, [], { maxAttempts: 1 })
    await enqueueCallback(db, { jobId: 'job_private', apiKeyId: key.id, url: hook.url, body: RESULT })
    const failed = await until(async () => {
      const r = await findCallbackDeliveryForJob(db, 'job_private')
      return r?.state === 'failed' ? r : undefined
    })
    expect(failed.lastError).toMatch(/127\.0\.0\.1.*loopback, private/)
    expect(hook.received).toHaveLength(0)
  })

  it('retries an attempt whose edge died mid-flight once its lease has run out', async () => {
    const db = await database()
    const key = await createApiKey(db, { name: 'moderation', scopes: ['detect'] })
    const hook = await receiver()
    const row = await enqueueCallback(db, { jobId: 'job_lease', apiKeyId: key.id, url: hook.url, body: RESULT })
    // A previous edge claimed the delivery and was killed before recording anything.
    const [claimed] = await claimDueCallbackDeliveries(db, { now: new Date(), leaseMs: 400, limit: 10 })
    expect(claimed?.id).toBe(row.id)
    const started = Date.now()
    deliver(db, [`127.0.0.1:${hook.port}`])
    await until(() => (hook.received.length > 0 ? true : undefined))
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)
    expect(hook.received[0]?.headers['genimage-delivery-attempt']).toBe('2')
  })
})

describe('callback_url checks before a job is accepted', () => {
  const rules = {
    allowedHosts: ['127.0.0.1:8099', 'receiver.internal:80'],
    resolveHost: async (host: string) => (host === 'intranet.example' ? ['10.1.2.3'] : ['93.184.216.34']),
  }
  const refusal = async (url: string) => {
    try {
      await checkCallbackUrl(url, rules)
      return 'accepted'
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError)
      return `${(error as ApiError).code}: ${(error as ApiError).message}`
    }
  }

  it.each([
    ['ftp://hooks.example.com/x', /must be http or https/],
    ['http://user:pw@hooks.example.com/x', /credentials/],
    ['not a url', /not a valid absolute URL/],
    ['http://127.0.0.1:8098/x', /127\.0\.0\.1 resolves to 127\.0\.0\.1.*CALLBACK_ALLOWED_HOSTS/],
    ['http://[::1]:8099/x', /loopback, private/],
    ['http://[::ffff:127.0.0.1]:8099/x', /loopback, private/],
    ['http://10.0.0.5/x', /loopback, private/],
    ['http://intranet.example/x', /intranet\.example resolves to 10\.1\.2\.3/],
    [`https://hooks.example.com/${'a'.repeat(2100)}`, /longer than 2048/],
  ])('refuses %s with callback_url_not_allowed', async (url, why) => {
    const answer = await refusal(url)
    expect(answer.startsWith('callback_url_not_allowed: ')).toBe(true)
    expect(answer).toMatch(why)
  })

  it.each(['http://127.0.0.1:8099/hook', 'http://RECEIVER.internal/hook', 'https://hooks.example.com/genimage'])('accepts %s', async (url) => {
    expect(await refusal(url)).toBe('accepted')
  })

  it('needs a secret to sign with: a key made before callbacks, or an anonymous request without CALLBACK_SIGNING_SECRET, is refused', async () => {
    const db = await database()
    const keys = libsqlKeyStore(db)
    const fresh = await createApiKey(db, { name: 'new', scopes: ['detect'] })
    const old = await createApiKey(db, { name: 'old', scopes: ['detect'] })
    await db.update(schema.apiKeys).set({ callbackSecret: null }).where(eq(schema.apiKeys.id, old.id))
    await expect(assertCallbackSignable(keys, fresh.id, undefined)).resolves.toBeUndefined()
    await expect(assertCallbackSignable(keys, old.id, undefined)).rejects.toThrow(/create a new key/)
    await expect(assertCallbackSignable(keys, null, undefined)).rejects.toThrow(/CALLBACK_SIGNING_SECRET/)
    await expect(assertCallbackSignable(keys, null, 'x'.repeat(32))).resolves.toBeUndefined()
  })

  it('reads CALLBACK_ALLOWED_HOSTS and refuses an entry without a port, naming the variable', () => {
    const settings = edgeEnvironment({ CALLBACK_ALLOWED_HOSTS: '127.0.0.1:8099, receiver.internal:80,[::1]:9000', CALLBACK_RETRY_BASE_MS: '250' })
    expect(settings.config.callbackAllowedHosts).toEqual(['127.0.0.1:8099', 'receiver.internal:80', '[::1]:9000'])
    expect(settings.callbackDelivery.retryBaseMs).toBe(250)
    expect(() => edgeEnvironment({ CALLBACK_ALLOWED_HOSTS: 'receiver.internal' })).toThrow(/CALLBACK_ALLOWED_HOSTS: comma-separated host:port pairs/)
    expect(() => edgeEnvironment({ CALLBACK_SIGNING_SECRET: 'short' })).toThrow(/CALLBACK_SIGNING_SECRET/)
  })
})
