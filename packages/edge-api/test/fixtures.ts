import { createDb, detections } from '@genimage/shared/db'
import { Hono } from 'hono'
import { type AppDeps, createApp } from '../src/app.ts'
import type { LogEntry } from '../src/middleware/observe.ts'
import { RunnerPool, type RunnerPoolOptions } from '../src/runners/runner-pool.ts'
import { libsqlKeyStore } from '../src/store/libsql-keys.ts'
import { createLibsqlStore } from '../src/store/libsql-store.ts'

const decode = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))

/** An 8×8 JPEG and PNG encoded by sharp (libjpeg-turbo, libspng), embedded so these tests need no native decoder. */
export const JPEG_8x8 = decode(
  '/9j/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAARCAAIAAgDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAT/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFQEBAQAAAAAAAAAAAAAAAAAABwj/xAAUEQEAAAAAAAAAAAAAAAAAAAAA/9oADAMBAAIRAxEAPwCQAHqQf//Z',
)
export const PNG_8x8 = decode(
  'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAEUlEQVQImWMQSfmFFTEMLQkA61VcgeHBgH4AAAAASUVORK5CYII=',
)

/** A PNG signature and IHDR that claim 100000 × 100000 pixels, with no pixel data. */
export function pngHeaderBomb(): Uint8Array {
  const bytes = PNG_8x8.slice(0, 33)
  const view = new DataView(bytes.buffer)
  view.setUint32(16, 100_000)
  view.setUint32(20, 100_000)
  return bytes
}

export interface PeerOptions {
  models?: string[]
  ready?: boolean
  /** Status, body and headers to answer inference with, instead of scores (may be changed while a test runs). */
  failInfer?: { status: number; body: unknown; headers?: Record<string, string> }
  /** Inference waits for this before answering (to hold requests in flight). */
  hold?: Promise<void>
  /** Where the peer says it runs its models (this project's metadata extension); omitted like a foreign OIP server when unset. */
  execution?: { provider: string; adapter?: string }
}

/**
 * A minimal Open Inference Protocol v2 peer standing in for a runner in these edge-only tests (they also run
 * under Deno, where the native runner is not loaded). It scores each image by its byte sum, so results are
 * deterministic and differ per image. The real runner is exercised end to end in test/e2e.
 */
export function oipPeer(options: PeerOptions = {}) {
  const models = options.models ?? ['fixture']
  const calls = { infer: 0, requestIds: [] as (string | undefined)[] }
  const app = new Hono()
  app.get('/v2/health/ready', (c) => c.json({ ready: options.ready ?? true }, options.ready === false ? 503 : 200))
  app.post('/v2/repository/index', (c) => c.json(models.map((name) => ({ name, version: '1', state: 'READY' }))))
  app.get('/v2/models/:name', (c) => {
    const name = c.req.param('name')
    if (!models.includes(name)) return c.json({ error: 'not found', code: 'model_not_found' }, 404)
    return c.json({
      name,
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'image_bytes', datatype: 'BYTES', shape: [-1] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
      ...(options.execution ? { execution: options.execution } : {}),
    })
  })
  app.post('/v2/models/:name/infer', async (c) => {
    calls.infer += 1
    calls.requestIds.push(c.req.header('x-request-id'))
    await options.hold
    if (options.failInfer) return c.json(options.failInfer.body as object, options.failInfer.status as 422, options.failInfer.headers)
    const body = new Uint8Array(await c.req.arrayBuffer())
    const headerLength = Number(c.req.header('inference-header-content-length'))
    const header = JSON.parse(new TextDecoder().decode(body.subarray(0, headerLength)))
    const count = header.inputs[0].shape[0] as number
    const data: number[] = []
    let offset = headerLength
    for (let i = 0; i < count; i++) {
      const length = new DataView(body.buffer, body.byteOffset + offset, 4).getUint32(0, true)
      const image = body.subarray(offset + 4, offset + 4 + length)
      offset += 4 + length
      const ai = (image.reduce((s, b) => s + b, 0) % 1000) / 1000
      data.push(1 - ai, ai)
    }
    return c.json({ model_name: c.req.param('name'), outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [count, 2], data }] })
  })
  return { app, calls, options }
}

export interface EdgeTestOptions extends Partial<Omit<AppDeps, 'store' | 'runners' | 'config'>> {
  pool?: Omit<RunnerPoolOptions, 'fetchFn'>
}

/**
 * The edge app wired to in-process peers (by host name) and a real in-memory libSQL database holding
 * detections and API keys. Log entries are collected instead of printed.
 */
export async function edgeWith(peers: Record<string, ReturnType<typeof oipPeer> | 'down'>, config = {}, options: EdgeTestOptions = {}) {
  const db = await createDb(':memory:')
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    const peer = peers[new URL(request.url).host]
    if (!peer || peer === 'down') throw new TypeError('fetch failed: connection refused')
    // Like a real connection, the call gives up when its signal aborts (the edge's runner deadline, or its client leaving).
    const signal = init?.signal
    if (!signal) return peer.app.fetch(request)
    signal.throwIfAborted()
    const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))
    return Promise.race([peer.app.fetch(request), aborted])
  }) as typeof fetch
  const { pool, ...deps } = options
  const runners = new RunnerPool(
    Object.keys(peers).map((host) => `http://${host}`),
    { refreshMs: 0, ...pool, fetchFn },
  )
  const logs: LogEntry[] = []
  const app = createApp({ store: createLibsqlStore(db), runners, keys: libsqlKeyStore(db), log: (e) => logs.push(e), ...deps, config })
  const rows = async () => db.select().from(detections)
  return { app, db, rows, runners, logs, fetchFn }
}

export function form(parts: { name: string; value: Uint8Array | string; filename?: string }[]): FormData {
  const f = new FormData()
  for (const p of parts) {
    if (typeof p.value === 'string') f.append(p.name, p.value)
    else f.append(p.name, new Blob([p.value as Uint8Array<ArrayBuffer>]), p.filename ?? 'upload')
  }
  return f
}
