import { ErrorResponse } from '@genimage/shared'
import { describe, expect, it } from 'vitest'
import { EdgeConfig, edgeEnvironment, inflightByteBudget } from '../src/config.ts'
import { InflightBytes, readBoundedBody } from '../src/inputs/body-reader.ts'
import { edgeWith, form, JPEG_8x8, oipPeer, PNG_8x8 } from './fixtures.ts'

/** A request whose body sends `chunks` and then, unless `end`, never finishes (a client trickling its upload). */
function streamingRequest(chunks: Uint8Array[], options: { end?: boolean; headers?: Record<string, string> } = {}): Request {
  let sent = 0
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks[sent++]
      if (next) controller.enqueue(next)
      else if (options.end) controller.close()
      else return new Promise(() => {})
    },
  })
  return new Request('http://edge.test/v1/detect', { method: 'POST', body, headers: options.headers, duplex: 'half' } as RequestInit)
}

const codeOf = async (error: Promise<unknown>) => {
  try {
    await error
  } catch (caught) {
    return (caught as { code?: string }).code
  }
  return 'resolved'
}

describe('readBoundedBody', () => {
  it('answers request_timeout when the body does not arrive within the deadline, and gives its bytes back', async () => {
    const budget = new InflightBytes(1_000)
    const reading = readBoundedBody(streamingRequest([new Uint8Array(10)]), { maxBytes: 1_000, timeoutMs: 50, budget })
    expect(await codeOf(reading)).toBe('request_timeout')
    expect(budget.bytes).toBe(0)
  })

  it('refuses a declared length over the limit before reading a byte', async () => {
    const request = streamingRequest([new Uint8Array(10)], { headers: { 'content-length': '2000' } })
    expect(await codeOf(readBoundedBody(request, { maxBytes: 1_000, timeoutMs: 1_000, budget: new InflightBytes(10_000) }))).toBe('payload_too_large')
    expect(request.bodyUsed).toBe(false)
  })

  it('counts what arrived against the shared budget: server_busy when a body would overflow it, room again once released', async () => {
    const budget = new InflightBytes(100)
    const first = await readBoundedBody(streamingRequest([new Uint8Array(60)], { end: true }), { maxBytes: 1_000, timeoutMs: 1_000, budget })
    expect(budget.bytes).toBe(60)
    const second = readBoundedBody(streamingRequest([new Uint8Array(30), new Uint8Array(30)], { end: true }), { maxBytes: 1_000, timeoutMs: 1_000, budget })
    expect(await codeOf(second)).toBe('server_busy')
    expect(budget.bytes).toBe(60)
    first.release()
    first.release()
    expect(budget.bytes).toBe(0)
    const third = await readBoundedBody(streamingRequest([new Uint8Array(30), new Uint8Array(30)], { end: true }), {
      maxBytes: 1_000,
      timeoutMs: 1_000,
      budget,
    })
    expect(third.bytes.byteLength).toBe(60)
  })

  it('answers client_closed when the client goes away mid-body', async () => {
    const controller = new AbortController()
    const reading = readBoundedBody(streamingRequest([new Uint8Array(10)]), {
      maxBytes: 1_000,
      timeoutMs: 10_000,
      budget: new InflightBytes(1_000),
      signal: controller.signal,
    })
    setTimeout(() => controller.abort(), 10)
    expect(await codeOf(reading)).toBe('client_closed')
  })
})

describe('detect limits', () => {
  it('refuses a request whose images together exceed MAX_REQUEST_PIXELS, naming the image that crossed it', async () => {
    const { app } = await edgeWith({ r1: oipPeer() }, { maxRequestPixels: 100 })
    const images = [JPEG_8x8, PNG_8x8].map((value, i) => ({ name: 'image', value, filename: `${i}.img` }))
    const res = await app.request('/v1/detect', { method: 'POST', body: form(images) })
    expect(res.status).toBe(422)
    const error = ErrorResponse.parse(await res.json()).error
    expect({ code: error.code, image: error.image }).toEqual({ code: 'image_too_large', image: 1 })
  })

  it('answers runner_timeout past the runner deadline without marking the runner down', async () => {
    const peer = oipPeer({ hold: new Promise(() => {}) })
    const { app, runners } = await edgeWith({ r1: peer }, {}, { pool: { timeoutMs: 50 } })
    const res = await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8 }]) })
    expect(res.status).toBe(504)
    expect(ErrorResponse.parse(await res.json()).error.code).toBe('runner_timeout')
    const runner = runners.runners[0]
    expect(runner && runners.routable(runner)).toBe(true)
    expect(runner?.consecutiveFailures).toBe(0)
  })

  it('checks an unreachable runner again before its next request instead of taking it out of service', async () => {
    const peers: Record<string, ReturnType<typeof oipPeer> | 'down'> = { r1: oipPeer() }
    const { runners } = await edgeWith(peers, {}, { pool: { refreshMs: 60_000 } })
    await runners.refresh(true)
    const runner = runners.runners[0]
    if (!runner) throw new Error('no runner')
    runners.recordFailure(runner, 'socket hang up', true)
    expect((await runners.pick('fixture')).ok).toBe(true)
    runners.recordFailure(runner, 'connect ECONNREFUSED', true)
    peers.r1 = 'down'
    expect(await runners.pick('fixture')).toMatchObject({ ok: false, reason: 'no_runner_available' })
  })

  it('sends nosniff and no-store on answers and errors', async () => {
    const { app } = await edgeWith({ r1: oipPeer() })
    const answers = [
      await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8 }]) }),
      await app.request('/v1/detect', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } }),
      await app.request('/healthz'),
    ]
    expect(answers.map((r) => r.status)).toEqual([200, 415, 200])
    for (const res of answers) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('cache-control')).toBe('no-store')
    }
  })
})

describe('edge memory budget', () => {
  it('derives the in-flight byte cap from EDGE_MEMORY_BUDGET_BYTES and refuses a budget too small for one request', () => {
    expect(inflightByteBudget(768 * 2 ** 20)).toBe(128 * 2 ** 20)
    expect(edgeEnvironment({ EDGE_MEMORY_BUDGET_BYTES: String(2 ** 30) }).config.memoryBudgetBytes).toBe(2 ** 30)
    expect(EdgeConfig.safeParse({ memoryBudgetBytes: 256 * 2 ** 20 }).success).toBe(false)
    expect(() => edgeEnvironment({ EDGE_MEMORY_BUDGET_BYTES: String(300 * 2 ** 20) })).toThrow(/EDGE_MEMORY_BUDGET_BYTES/)
  })
})
