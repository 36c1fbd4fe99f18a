import { ErrorResponse } from '@genimage/shared'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PoolStack, rssMiB, shippedPhotos, startPoolStack } from '../support/pool-stack.ts'
import { HOSTILE_KINDS, prng, type Seeds } from './hostile.ts'

/** Uploads to send; 10,000 by default (about a minute here), FUZZ_UPLOADS to change. */
const UPLOADS = Number(process.env.FUZZ_UPLOADS ?? 10_000)
const CLIENTS = 8
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_611)
/** Runner RSS may grow at most this much over its warmed-up size during the run. */
const RSS_GROWTH_BOUND_MIB = 100
/** …and never exceed this in absolute terms. */
const RSS_ABSOLUTE_BOUND_MIB = 512

let stack: PoolStack
let seeds: Seeds

beforeAll(async () => {
  stack = await startPoolStack({ runners: 1, prefix: 'genimage-fuzz-', edgeEnv: { MAX_REQUEST_BYTES: String(2 * 1024 * 1024) } })
  const [photo] = await shippedPhotos(1)
  const base = sharp(photo).resize(96, 72)
  seeds = {
    jpeg: new Uint8Array(await base.clone().jpeg({ quality: 90 }).toBuffer()),
    png: new Uint8Array(await base.clone().png().toBuffer()),
    webp: new Uint8Array(await base.clone().webp().toBuffer()),
  }
})
afterAll(() => stack?.stop())

describe(`fuzz: ${UPLOADS} hostile uploads through edge → runner`, () => {
  it('never answers 5xx, always with a JSON error code, keeps both processes up and runner memory bounded', async () => {
    const edge = stack.edge
    const runner = stack.runners[0]!
    const pid = runner.child.pid as number
    const kinds = Object.keys(HOSTILE_KINDS)
    const byKind = new Map<string, Map<number, number>>()
    const failures: string[] = []
    const timeByKind = new Map<string, number>()
    const rss: number[] = []
    let next = 0
    let warmRss = 0

    const send = async (i: number) => {
      const rand = prng(SEED + i)
      const kind = kinds[Math.floor(rand() * kinds.length)] as string
      const request = HOSTILE_KINDS[kind]!(rand, seeds)
      let status: number
      const t0 = performance.now()
      try {
        const res = await fetch(`${edge.url}/v1/detect`, {
          method: 'POST',
          body: request.body as Uint8Array<ArrayBuffer>,
          headers: { 'content-type': request.contentType },
          signal: AbortSignal.timeout(20_000),
        })
        status = res.status
        const text = await res.text()
        if (status !== 200 && !ErrorResponse.safeParse(JSON.parse(text)).success)
          failures.push(`#${i} ${kind}: ${status} without the error shape: ${text.slice(0, 200)}`)
        if (status >= 500) failures.push(`#${i} ${kind} (seed ${SEED + i}): ${status} ${text.slice(0, 200)}`)
        if (kind === 'valid' && status !== 200) failures.push(`#${i} valid upload answered ${status}: ${text.slice(0, 200)}`)
      } catch (error) {
        status = -1
        failures.push(`#${i} ${kind} (seed ${SEED + i}): no answer: ${String(error)} (${String((error as Error).cause ?? 'no cause')})`)
      }
      timeByKind.set(kind, (timeByKind.get(kind) ?? 0) + performance.now() - t0)
      const counts = byKind.get(kind) ?? new Map<number, number>()
      counts.set(status, (counts.get(status) ?? 0) + 1)
      byKind.set(kind, counts)
    }

    const client = async () => {
      while (next < UPLOADS) {
        const i = next++
        await send(i)
        if (i === Math.min(500, UPLOADS - 1)) warmRss = await rssMiB(pid)
        if (i % 250 === 0) rss.push(await rssMiB(pid))
      }
    }
    const started = performance.now()
    await Promise.all(Array.from({ length: CLIENTS }, client))
    const seconds = (performance.now() - started) / 1000
    rss.push(await rssMiB(pid))

    const table = [...byKind].map(
      ([k, m]) =>
        `${k}: ${[...m]
          .sort()
          .map(([s, n]) => `${s}×${n}`)
          .join(' ')} (latency summed ${((timeByKind.get(k) ?? 0) / 1000).toFixed(1)} s)`,
    )
    const peak = Math.max(...rss)
    console.log(
      `${UPLOADS} uploads in ${seconds.toFixed(1)} s (${(UPLOADS / seconds).toFixed(0)}/s); runner RSS warm ${warmRss.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB, end ${rss.at(-1)?.toFixed(0)} MiB\n${table.join('\n')}`,
    )
    expect(failures.slice(0, 20)).toEqual([])
    expect(runner.alive()).toBe(true)
    expect(edge.alive()).toBe(true)
    expect((await fetch(`${runner.url}/v2/health/ready`)).status).toBe(200)
    expect(peak - warmRss).toBeLessThan(RSS_GROWTH_BOUND_MIB)
    expect(peak).toBeLessThan(RSS_ABSOLUTE_BOUND_MIB)
    expect([...byKind.keys()].sort()).toEqual([...kinds].sort())
  }, 600_000)
})
