import { ErrorResponse } from '@genimage/shared'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectForm, type PoolStack, rssMiB, shippedPhotos, startPoolStack } from '../support/pool-stack.ts'
import { detectHead, heavyPng, metricValue, openSocket, readAnswer, trickle } from './attack-clients.ts'

/**
 * Issue 14's availability defects, each against a real edge and runner on loopback over real sockets: slow bodies,
 * oversize declared lengths, heavy requests whose client leaves or whose edge deadline passes, many large uploads
 * at once, and uploads aborted half way.
 */
const MAX_INFLIGHT = 8
const BODY_TIMEOUT_MS = 3_000
const RUNNER_TIMEOUT_MS = 2_500
const MEMORY_BUDGET_MIB = 512

let stack: PoolStack
let light: Uint8Array
let heavy: Uint8Array

beforeAll(async () => {
  stack = await startPoolStack({
    runners: 1,
    prefix: 'genimage-hostile-',
    edgeEnv: {
      MAX_INFLIGHT_DETECTS: String(MAX_INFLIGHT),
      BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
      RUNNER_TIMEOUT_MS: String(RUNNER_TIMEOUT_MS),
      EDGE_MEMORY_BUDGET_BYTES: String(MEMORY_BUDGET_MIB * 1024 * 1024),
      MAX_REQUEST_PIXELS: String(700_000_000),
      LOG_LEVEL: 'error',
    },
    // One large decode at a time, so a heavy request's images queue behind each other and cancelling it is visible.
    runnerEnv: { HEAVY_DECODE_CONCURRENCY: '1' },
  })
  const [photo] = await shippedPhotos(1)
  light = new Uint8Array(await sharp(photo).resize(320, 240).jpeg().toBuffer())
  heavy = await heavyPng()
})
afterAll(() => stack?.stop())

const detect = async (images: Uint8Array[], signal?: AbortSignal) => {
  const started = performance.now()
  const res = await fetch(`${stack.edge.url}/v1/detect`, {
    method: 'POST',
    body: detectForm(images.map((bytes, i) => ({ bytes, filename: `i${i}.png` }))),
    ...(signal ? { signal } : {}),
  })
  const body = await res.json()
  return {
    status: res.status,
    ms: performance.now() - started,
    code: res.ok ? undefined : ErrorResponse.parse(body).error.code,
    retryAfter: res.headers.get('retry-after'),
  }
}

const text = async (url: string) => (await fetch(url)).text()
const runnerInflight = async () => metricValue(await text(`${stack.runners[0]!.url}/metrics`), 'genimage_runner_inflight_requests')

/** One `image` part as a ready multipart body (no FormData encoding on the client for large uploads). */
function multipartBody(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const head = new TextEncoder().encode('--b\r\nContent-Disposition: form-data; name="image"; filename="big.jpg"\r\n\r\n')
  const tail = new TextEncoder().encode('\r\n--b--\r\n')
  const body = new Uint8Array(head.length + bytes.length + tail.length)
  body.set(head)
  body.set(bytes, head.length)
  body.set(tail, head.length + bytes.length)
  return body
}

describe('hostile clients against a real edge and runner (issue 14)', () => {
  it(`keeps answering while 50 sockets trickle bodies (admission cap ${MAX_INFLIGHT}), and cuts the tricklers off at BODY_TIMEOUT_MS`, async () => {
    const tricklers = Array.from({ length: 50 }, () => trickle(stack.edge.url))
    await new Promise((resolve) => setTimeout(resolve, 300))
    const normal: Awaited<ReturnType<typeof detect>>[] = []
    for (let i = 0; i < 8; i++) normal.push(await detect([light]))
    const cut = await Promise.all(tricklers)
    const statuses = [...new Set(cut.map((a) => a.status))]
    console.log(
      `trickle: normal client ${normal.map((n) => n.status).join(',')} (max ${Math.max(...normal.map((n) => n.ms)).toFixed(0)} ms); ` +
        `tricklers answered ${statuses.join('/')} after ${Math.min(...cut.map((a) => a.ms)).toFixed(0)}–${Math.max(...cut.map((a) => a.ms)).toFixed(0)} ms`,
    )
    expect(normal.map((n) => n.status)).toEqual(Array(8).fill(200))
    for (const answer of cut) {
      expect([0, 408]).toContain(answer.status)
      expect(answer.ms).toBeLessThan(BODY_TIMEOUT_MS + 2_000)
    }
    expect(cut.filter((a) => a.status === 408).length).toBeGreaterThan(0)
  })

  it('answers 413 at once to a declared Content-Length over the limit, before any body byte is sent', async () => {
    for (const declared of [64 * 1024 * 1024, 1024 ** 3]) {
      const socket = await openSocket(stack.edge.url)
      const answer = readAnswer(socket)
      socket.write(detectHead(stack.edge.url, declared))
      const { status, body, ms } = await answer
      socket.destroy()
      console.log(`declared ${declared} bytes: ${status} in ${ms.toFixed(0)} ms`)
      expect(status).toBe(413)
      expect(ErrorResponse.parse(JSON.parse(body)).error.code).toBe('payload_too_large')
      expect(ms).toBeLessThan(1_000)
    }
  })

  it('drops the queued decodes of a heavy request whose client goes away, freeing the runner', async () => {
    const closedBefore = metricValue(await text(`${stack.runners[0]!.url}/metrics`), 'genimage_runner_errors_total', 'code="client_closed"')
    const controller = new AbortController()
    const heavyRequest = detect(Array(8).fill(heavy), controller.signal).catch((error: Error) => error.name)
    await new Promise((resolve) => setTimeout(resolve, 800))
    const abortedAt = performance.now()
    controller.abort()
    expect(await heavyRequest).toBe('AbortError')
    while ((await runnerInflight()) > 0 && performance.now() - abortedAt < 20_000) await new Promise((resolve) => setTimeout(resolve, 50))
    const freedMs = performance.now() - abortedAt
    const closedAfter = metricValue(await text(`${stack.runners[0]!.url}/metrics`), 'genimage_runner_errors_total', 'code="client_closed"')
    console.log(`cancel: runner idle ${freedMs.toFixed(0)} ms after the client left a request of 8 heavy PNGs (~1 s of decoding each, one at a time)`)
    expect(closedAfter - closedBefore).toBe(1)
    expect(freedMs).toBeLessThan(3_000)
    expect((await detect([light])).status).toBe(200)
  })

  it('answers 504 runner_timeout past the runner deadline and keeps the runner ready for the next request', async () => {
    const slow = await detect(Array(16).fill(heavy))
    const answeredAt = performance.now()
    while ((await runnerInflight()) > 0 && performance.now() - answeredAt < 20_000) await new Promise((resolve) => setTimeout(resolve, 50))
    const runnerIdleMs = performance.now() - answeredAt
    const next = await detect([light])
    const edgeMetrics = await text(`${stack.edge.url}/metrics`)
    console.log(
      `timeout: heavy (16 × 6320²) ${slow.status} ${slow.code} in ${slow.ms.toFixed(0)} ms, runner idle ${runnerIdleMs.toFixed(0)} ms later, ` +
        `next light ${next.status} in ${next.ms.toFixed(0)} ms`,
    )
    expect(slow.status).toBe(504)
    expect(slow.code).toBe('runner_timeout')
    expect(slow.ms).toBeLessThan(RUNNER_TIMEOUT_MS + 1_500)
    expect(runnerIdleMs).toBeLessThan(3_000)
    expect(next.status).toBe(200)
    expect(metricValue(edgeMetrics, 'edge_runners', 'state="not_ready"')).toBe(0)
  })

  it(`holds 48 concurrent 18 MiB uploads within its ${MEMORY_BUDGET_MIB} MiB memory budget, refusing the excess with 503 server_busy`, async () => {
    const pid = stack.edge.child.pid as number
    const idle = await rssMiB(pid)
    const upload = new Uint8Array(18 * 1024 * 1024)
    upload.set(light)
    let peak = idle
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await rssMiB(pid))
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()
    const body = multipartBody(upload)
    const send = async () => {
      const res = await fetch(`${stack.edge.url}/v1/detect`, { method: 'POST', body, headers: { 'content-type': 'multipart/form-data; boundary=b' } })
      const json = await res.json()
      return { status: res.status, code: res.ok ? undefined : ErrorResponse.parse(json).error.code, retryAfter: res.headers.get('retry-after') }
    }
    const outcomes = await Promise.all(Array.from({ length: 48 }, () => send().catch(() => ({ status: -1, code: 'network', retryAfter: null }))))
    sampling = false
    await sampler
    const counts = new Map<string, number>()
    for (const o of outcomes) counts.set(`${o.status} ${o.code ?? 'ok'}`, (counts.get(`${o.status} ${o.code ?? 'ok'}`) ?? 0) + 1)
    console.log(`memory: edge RSS ${idle.toFixed(0)} MiB idle, ${peak.toFixed(0)} MiB peak; answers ${[...counts].map(([k, n]) => `${k}×${n}`).join(', ')}`)
    expect(peak).toBeLessThan(MEMORY_BUDGET_MIB)
    const busy = outcomes.filter((o) => o.code === 'server_busy')
    expect(busy.length).toBeGreaterThan(0)
    expect(busy.every((o) => o.status === 503 && o.retryAfter === '1')).toBe(true)
    expect(outcomes.some((o) => o.status === 200)).toBe(true)
  })

  it('counts an upload the client aborts half way as a client abort (499 client_closed), not as a 500', async () => {
    const socket = await openSocket(stack.edge.url)
    socket.write(detectHead(stack.edge.url, 100_000))
    socket.write(`--attack\r\n${'x'.repeat(1000)}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
    socket.destroy()
    let metrics = ''
    for (let i = 0; i < 50 && metricValue(metrics, 'edge_errors_total', 'code="client_closed"') === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      metrics = await text(`${stack.edge.url}/metrics`)
    }
    expect(metricValue(metrics, 'edge_errors_total', 'code="client_closed"')).toBeGreaterThan(0)
    expect(metricValue(metrics, 'edge_http_requests_total', 'status="499"')).toBeGreaterThan(0)
    expect(metricValue(metrics, 'edge_http_requests_total', 'status="500"')).toBe(0)
    expect(metricValue(metrics, 'edge_errors_total', 'code="internal_error"')).toBe(0)
  })
})
