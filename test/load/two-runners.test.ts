import { DetectResponse, ErrorResponse } from '@genimage/shared'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectForm, percentile, type PoolStack, shippedPhotos, startPoolStack } from '../support/pool-stack.ts'

/** Seconds of sustained load at capacity: 30 for the full run (LOAD_SECONDS=30), 8 by default to keep CI short. */
const LOAD_SECONDS = Number(process.env.LOAD_SECONDS ?? 8)
const CAPACITY_SECONDS = 4
const OVERLOAD_SECONDS = 4
const CLIENTS = 8
/** Images each runner admits before answering 429 queue_full. */
const QUEUE_IMAGES = 16
const REQUEST_TIMEOUT_MS = 15_000
/** Images per request: enough decode work that the runners, not the edge, are the bottleneck under overload. */
const IMAGES_PER_REQUEST = 4

interface Outcome {
  status: number
  ms: number
  code?: string
  retryAfter?: string | null
}

let stack: PoolStack
let photos: Uint8Array[]

beforeAll(async () => {
  stack = await startPoolStack({
    runners: 2,
    prefix: 'genimage-load-',
    runnerEnv: { MAX_QUEUE_IMAGES: String(QUEUE_IMAGES), MAX_BATCH_SIZE: '8', MAX_QUEUE_DELAY_MS: '2' },
  })
  photos = await Promise.all((await shippedPhotos(6)).map(async (p) => new Uint8Array(await sharp(p).resize(640, 480).jpeg({ quality: 90 }).toBuffer())))
})
afterAll(() => stack?.stop())

async function detect(i: number): Promise<Outcome> {
  const started = performance.now()
  try {
    const res = await fetch(`${stack.edge.url}/v1/detect`, {
      method: 'POST',
      body: detectForm(Array.from({ length: IMAGES_PER_REQUEST }, (_, j) => ({ bytes: photos[(i + j) % photos.length] as Uint8Array, filename: `p${i}-${j}.jpg` }))),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
    const body = await res.json()
    const ms = performance.now() - started
    if (res.status === 200) {
      DetectResponse.parse(body)
      return { status: 200, ms }
    }
    return { status: res.status, ms, code: ErrorResponse.parse(body).error.code, retryAfter: res.headers.get('retry-after') }
  } catch (error) {
    return { status: -1, ms: performance.now() - started, code: String(error) }
  }
}

/** `clients` loops, each sending its next request when the last is answered, for `seconds`. */
async function closedLoop(clients: number, seconds: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = []
  const until = performance.now() + seconds * 1000
  let n = 0
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) outcomes.push(await detect(n++))
    }),
  )
  return outcomes
}

/** Requests arriving at `perSecond` regardless of answers (open loop), for `seconds`. */
async function openLoop(perSecond: number, seconds: number): Promise<Outcome[]> {
  const pending: Promise<Outcome>[] = []
  const started = performance.now()
  const total = Math.round(perSecond * seconds)
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / perSecond
    const wait = due - performance.now()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    pending.push(detect(i))
  }
  return Promise.all(pending)
}

const summary = (label: string, outcomes: Outcome[], seconds: number) => {
  const ok = outcomes.filter((o) => o.status === 200)
  const counts = new Map<string, number>()
  for (const o of outcomes) {
    const k = `${o.status}${o.code ? ` ${o.code.slice(0, 60)}` : ''}`
    counts.set(k, (counts.get(k) ?? 0) + 1)
  }
  const statuses = [...counts].map(([k, n]) => `${k}×${n}`)
  const line = `${label}: ${outcomes.length} requests of ${IMAGES_PER_REQUEST} images in ${seconds} s, ${(ok.length / seconds).toFixed(1)} ok/s; ok p50 ${percentile(ok.map((o) => o.ms), 0.5).toFixed(0)} ms, p99 ${percentile(ok.map((o) => o.ms), 0.99).toFixed(0)} ms; ${statuses.join(', ')}`
  console.log(line)
  return { okPerSecond: ok.length / seconds, p99: percentile(ok.map((o) => o.ms), 0.99) }
}

describe('load: two runners behind the edge', () => {
  let capacity = 0
  let capacityP99 = 0

  it(`holds its measured capacity for ${LOAD_SECONDS} s without an error`, async () => {
    await closedLoop(2, 1)
    const probe = await closedLoop(CLIENTS, CAPACITY_SECONDS)
    const measured = summary('capacity probe (closed loop, 8 clients)', probe, CAPACITY_SECONDS)
    capacity = measured.okPerSecond
    expect(probe.filter((o) => o.status !== 200)).toEqual([])
    const sustained = await closedLoop(CLIENTS, LOAD_SECONDS)
    const held = summary(`sustained at capacity (closed loop, 8 clients, ${LOAD_SECONDS} s)`, sustained, LOAD_SECONDS)
    capacityP99 = held.p99
    expect(sustained.filter((o) => o.status !== 200)).toEqual([])
    expect(held.okPerSecond).toBeGreaterThan(capacity * 0.5)
    const perRunner = stack.runners.map((r) => (stack.edge.alive() && r.alive() ? r.url : 'dead'))
    expect(perRunner).not.toContain('dead')
  })

  it('answers 429 with Retry-After above capacity instead of timing out, and keeps accepted latency bounded', async () => {
    expect(capacity).toBeGreaterThan(0)
    const rate = Math.max(20, capacity * 3)
    const depths: number[][] = stack.runners.map(() => [])
    const scrape = setInterval(() => {
      stack.runners.forEach(async (r, i) => {
        const text = await (await fetch(`${r.url}/metrics`)).text()
        depths[i]?.push(Number(/genimage_runner_queue_depth\{[^}]*\} (\d+)/.exec(text)?.[1] ?? -1))
      })
    }, 200)
    const outcomes = await openLoop(rate, OVERLOAD_SECONDS)
    clearInterval(scrape)
    console.log(`runner queue depth samples: ${depths.map((d) => d.join(',')).join(' | ')}`)
    const over = summary(`overload (open loop at ${rate.toFixed(0)}/s = 3× capacity)`, outcomes, OVERLOAD_SECONDS)
    const refused = outcomes.filter((o) => o.status === 429)
    expect(outcomes.filter((o) => o.status !== 200 && o.status !== 429)).toEqual([])
    expect(refused.length).toBeGreaterThan(0)
    for (const r of refused) {
      expect(['queue_full', 'rate_limited']).toContain(r.code)
    }
    expect(refused.filter((r) => r.retryAfter !== null).length).toBeGreaterThan(0)
    const bound = Math.max(2_000, 5 * capacityP99)
    console.log(`accepted p99 ${over.p99.toFixed(0)} ms; bound ${bound.toFixed(0)} ms (max(2 s, 5 × p99 at capacity))`)
    expect(over.p99).toBeLessThan(bound)
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(REQUEST_TIMEOUT_MS)
  })
})
