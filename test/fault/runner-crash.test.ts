import { DetectResponse, ErrorResponse } from '@genimage/shared'
import { createDb, detections } from '@genimage/shared/db'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectForm, type PoolStack, shippedPhotos, startPoolStack } from '../support/pool-stack.ts'

const CLIENTS = 6
const BEFORE_MS = 2_500
const AFTER_MS = 3_500
const REQUEST_TIMEOUT_MS = 20_000

interface Outcome {
  status: number
  at: number
  requestId?: string
  code?: string
  sha256?: string[]
}

let stack: PoolStack
let photos: Uint8Array[]

beforeAll(async () => {
  stack = await startPoolStack({ runners: 3, prefix: 'genimage-fault-' })
  photos = await Promise.all((await shippedPhotos(4)).map(async (p) => new Uint8Array(await sharp(p).resize(320, 240).jpeg().toBuffer())))
})
afterAll(() => stack?.stop())

async function detect(i: number, t0: number): Promise<Outcome> {
  try {
    const res = await fetch(`${stack.edge.url}/v1/detect`, {
      method: 'POST',
      body: detectForm([{ bytes: photos[i % photos.length] as Uint8Array }]),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
    const body = await res.json()
    const at = performance.now() - t0
    if (res.status === 200) {
      const ok = DetectResponse.parse(body)
      return { status: 200, at, requestId: ok.id, sha256: ok.images.map((im) => im.sha256) }
    }
    return { status: res.status, at, code: ErrorResponse.parse(body).error.code }
  } catch (error) {
    return { status: -1, at: performance.now() - t0, code: `no answer: ${String(error)}` }
  }
}

/** Load from `CLIENTS` closed-loop clients while `during` runs; returns every outcome. */
async function underLoad(during: (t0: number) => Promise<void>): Promise<{ outcomes: Outcome[]; eventAt: number }> {
  const outcomes: Outcome[] = []
  const t0 = performance.now()
  let stop = false
  let n = 0
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (!stop) outcomes.push(await detect(n++, t0))
  })
  await new Promise((r) => setTimeout(r, BEFORE_MS))
  const eventAt = performance.now() - t0
  await during(t0)
  await new Promise((r) => setTimeout(r, AFTER_MS))
  stop = true
  await Promise.all(clients)
  return { outcomes, eventAt }
}

describe('fault: runners leave the pool under load', () => {
  it('drains a runner on SIGTERM without failing a single request, then it exits 0', async () => {
    const leaving = stack.runners[0] as PoolStack['runners'][0]
    let exitCode: number | null = null
    const { outcomes } = await underLoad(async () => {
      const exited = new Promise<void>((r) =>
        leaving.child.once('exit', (code) => {
          exitCode = code
          r()
        }),
      )
      leaving.child.kill('SIGTERM')
      await exited
    })
    const failed = outcomes.filter((o) => o.status !== 200)
    console.log(
      `drain: ${outcomes.length} requests, ${outcomes.length - failed.length} ok, errors: ${JSON.stringify(failed.map((f) => `${f.status} ${f.code}`))}`,
    )
    expect(failed).toEqual([])
    expect(exitCode).toBe(0)
    expect(leaving.logs()).toMatch(/"msg":"draining: refusing new work"[\s\S]*"msg":"runner stopped"/)
  })

  it('retries on the survivor, records every 200, and answers errors only as 503 with a code, never hangs', async () => {
    const [, victim, survivor] = stack.runners as [PoolStack['runners'][0], PoolStack['runners'][0], PoolStack['runners'][0]]
    const { outcomes, eventAt } = await underLoad(async () => {
      victim.child.kill('SIGKILL')
      await new Promise((r) => victim.child.once('exit', r))
    })
    const ok = outcomes.filter((o) => o.status === 200)
    const failed = outcomes.filter((o) => o.status !== 200)
    const afterKill = ok.filter((o) => o.at > eventAt + 200)
    console.log(
      `${outcomes.length} requests, ${ok.length} ok (${afterKill.length} after the kill), errors: ${JSON.stringify(failed.map((f) => `${f.status} ${f.code}`))}`,
    )
    expect(failed.filter((f) => f.status !== 503 || !f.code)).toEqual([])
    expect(failed.length).toBeLessThanOrEqual(Math.ceil(outcomes.length * 0.02))
    expect(afterKill.length).toBeGreaterThan(5)
    expect(stack.edge.alive()).toBe(true)
    expect(survivor.alive()).toBe(true)

    const db = await createDb(stack.databaseUrl)
    try {
      const rows = await db.select({ requestId: detections.requestId, sha: detections.imageSha256, runner: detections.runner }).from(detections)
      const recorded = new Set(rows.map((r) => `${r.requestId} ${r.sha}`))
      const missing = ok.filter((o) => !recorded.has(`${o.requestId} ${o.sha256?.[0]}`))
      expect(missing).toEqual([])
      const byRunner = new Map<string, number>()
      for (const r of rows) byRunner.set(r.runner ?? '?', (byRunner.get(r.runner ?? '?') ?? 0) + 1)
      expect(byRunner.get(stack.runners[0]?.url ?? '') ?? 0).toBeGreaterThan(0)
      expect(byRunner.get(victim.url) ?? 0).toBeGreaterThan(0)
      expect(byRunner.get(survivor.url) ?? 0).toBeGreaterThan(afterKill.length - 1)
    } finally {
      db.$client.close()
    }
  })
})
