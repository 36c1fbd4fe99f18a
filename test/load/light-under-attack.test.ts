import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectForm, percentile, type PoolStack, shippedPhotos, startPoolStack } from '../support/pool-stack.ts'
import { heavyPng, trickle } from './attack-clients.ts'

/**
 * Issue 14's "Done when" load test, bounded and on loopback: light clients keep getting answers quickly while
 * slow-body and heavy-PNG attackers run against the same edge and runner.
 */
const ATTACK_SECONDS = Number(process.env.ATTACK_SECONDS ?? 12)
const LIGHT_CLIENTS = 4
const HEAVY_CLIENTS = 2
/** Heavy images per attack request: 4 × 6320² = 160 MP, exactly the default per-request pixel budget. */
const HEAVY_PER_REQUEST = 4
const TRICKLERS = 50
const LIGHT_P99_BOUND_MS = 2_000

let stack: PoolStack
let light: Uint8Array[]
let heavy: Uint8Array

beforeAll(async () => {
  stack = await startPoolStack({ runners: 1, prefix: 'genimage-attack-', edgeEnv: { BODY_TIMEOUT_MS: '4000', LOG_LEVEL: 'error' } })
  light = await Promise.all((await shippedPhotos(4)).map(async (p) => new Uint8Array(await sharp(p).resize(320, 240).jpeg({ quality: 90 }).toBuffer())))
  heavy = await heavyPng()
})
afterAll(() => stack?.stop())

interface Outcome {
  status: number
  ms: number
}

async function detect(images: Uint8Array[]): Promise<Outcome> {
  const started = performance.now()
  try {
    const res = await fetch(`${stack.edge.url}/v1/detect`, {
      method: 'POST',
      body: detectForm(images.map((bytes, i) => ({ bytes, filename: `i${i}.jpg` }))),
      signal: AbortSignal.timeout(30_000),
    })
    await res.arrayBuffer()
    return { status: res.status, ms: performance.now() - started }
  } catch {
    return { status: -1, ms: performance.now() - started }
  }
}

const statusCounts = (outcomes: Outcome[]) => {
  const counts = new Map<number, number>()
  for (const o of outcomes) counts.set(o.status, (counts.get(o.status) ?? 0) + 1)
  return [...counts].map(([status, n]) => `${status}×${n}`).join(', ')
}

describe(`load: light requests while ${TRICKLERS} slow bodies and ${HEAVY_CLIENTS} heavy-PNG clients attack (${ATTACK_SECONDS} s, loopback)`, () => {
  it(`keeps light p99 under ${LIGHT_P99_BOUND_MS} ms`, async () => {
    const until = performance.now() + ATTACK_SECONDS * 1000
    const cut: number[] = []
    const tricklers = Array.from({ length: TRICKLERS }, async () => {
      while (performance.now() < until) cut.push((await trickle(stack.edge.url)).status)
    })
    const heavyOutcomes: Outcome[] = []
    const heavyClients = Array.from({ length: HEAVY_CLIENTS }, async () => {
      while (performance.now() < until) heavyOutcomes.push(await detect(Array(HEAVY_PER_REQUEST).fill(heavy)))
    })
    // Let the attack take hold before measuring.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const lightOutcomes: Outcome[] = []
    let n = 0
    const lightClients = Array.from({ length: LIGHT_CLIENTS }, async () => {
      while (performance.now() < until) lightOutcomes.push(await detect([light[n++ % light.length] as Uint8Array]))
    })
    await Promise.all([...lightClients, ...heavyClients, ...tricklers])
    const ok = lightOutcomes.filter((o) => o.status === 200).map((o) => o.ms)
    const p50 = percentile(ok, 0.5)
    const p99 = percentile(ok, 0.99)
    console.log(
      `light: ${lightOutcomes.length} requests (${statusCounts(lightOutcomes)}), p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${Math.max(...ok).toFixed(0)} ms\n` +
        `heavy: ${heavyOutcomes.length} requests of ${HEAVY_PER_REQUEST} × 6320² 16-bit PNG (${statusCounts(heavyOutcomes)}), ` +
        `p50 ${percentile(
          heavyOutcomes.map((o) => o.ms),
          0.5,
        ).toFixed(0)} ms\n` +
        `slow bodies: ${cut.length} trickling connections cut (${[...new Set(cut)].join('/')})`,
    )
    expect(ok.length).toBeGreaterThanOrEqual(Math.floor(lightOutcomes.length * 0.95))
    expect(p99).toBeLessThan(LIGHT_P99_BOUND_MS)
    expect(stack.edge.alive() && stack.runners[0]?.alive()).toBe(true)
  })
})
