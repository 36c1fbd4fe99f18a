import { count, eq } from 'drizzle-orm'
import { cancelExperiment, type Db, getExperiment, jobs, metrics, writeMetrics } from '@genimage/shared/db'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { JobQueue } from '../src/jobs/index.ts'
import { fileDatabase, manualClock, metric, submit } from './jobs-fixtures.ts'

let database: Awaited<ReturnType<typeof fileDatabase>>
let dbA: Db
let dbB: Db
let clock: ReturnType<typeof manualClock>
let runnerA: JobQueue
let runnerB: JobQueue

beforeEach(async () => {
  database = await fileDatabase()
  dbA = await database.open()
  dbB = await database.open()
  clock = manualClock()
  runnerA = new JobQueue(dbA, { worker: 'runner-a', leaseMs: 30_000, backoffMs: 5_000, clock: clock.now })
  runnerB = new JobQueue(dbB, { worker: 'runner-b', leaseMs: 30_000, backoffMs: 5_000, clock: clock.now })
})
afterEach(async () => database.close())

describe('job queue on a libSQL file shared by two runners', () => {
  it('never gives one job to both runners, even when they claim at the same moment', async () => {
    await submit(dbA, { models: ['npr-tiny'], generators: ['SD_V1.4'] })
    const [a, b] = await Promise.all([runnerA.claim(), runnerB.claim()])
    expect([a, b].filter(Boolean)).toHaveLength(1)
    const two = await submit(dbA, { protocol: 'table4', models: ['npr-tiny'], generators: ['SD_V1.4', 'ADM'] })
    const [c, d] = await Promise.all([runnerA.claim(), runnerB.claim()])
    expect(c?.experimentId).toBe(two)
    expect(d?.experimentId).toBe(two)
    expect(c?.id).not.toBe(d?.id)
  })

  it('a heartbeat keeps the lease; an expired lease makes the job claimable again and says why', async () => {
    const id = await submit(dbA)
    const claimed = await runnerA.claim()
    expect(claimed).toMatchObject({ experimentId: id, attempt: 1, previousFailure: null, model: 'npr-tiny', trainOn: ['SD_V1.4'] })
    clock.advance(20_000)
    expect(await runnerA.heartbeat(claimed!.id)).toBe('ok')
    clock.advance(20_000) // 40 s after the claim, 20 s after the heartbeat: still leased
    expect(await runnerB.claim()).toBeUndefined()
    clock.advance(10_001) // lease ran out: runner A is presumed dead
    const retaken = await runnerB.claim()
    expect(retaken).toMatchObject({ id: claimed!.id, attempt: 2 })
    expect(retaken!.previousFailure).toMatch(/attempt 1: lease of runner-a expired/)
    // the old owner learns it lost the job and cannot report results for it
    expect(await runnerA.heartbeat(claimed!.id)).toBe('lease_lost')
    expect(await runnerA.complete(claimed!.id, [metric('SD_V1.4', 0.9)], [])).toBe(false)
    expect(await runnerB.complete(claimed!.id, [metric('SD_V1.4', 0.8), metric('ADM', 0.6)], [{ epoch: 1, trainLoss: 0.5, valAccuracy: 0.8 }])).toBe(true)
    const detail = await getExperiment(dbA, id)
    expect(detail?.state).toBe('succeeded')
    expect(detail?.runDetails[0]?.metrics.map((m) => [m.testSet, m.accuracy])).toEqual([
      ['ADM', 0.6],
      ['SD_V1.4', 0.8],
    ])
    expect(detail?.runDetails[0]?.history).toEqual([{ epoch: 1, trainLoss: 0.5, valAccuracy: 0.8 }])
  })

  it('retries a failed attempt after an exponential backoff and fails for good after maxAttempts, keeping the reason', async () => {
    const id = await submit(dbA, { maxAttempts: 3 })
    const first = await runnerA.claim()
    expect(await runnerA.fail(first!.id, 'out of memory')).toBe('retrying')
    expect(await runnerB.claim()).toBeUndefined() // backoff: 5 s
    clock.advance(5_000)
    const second = await runnerB.claim()
    expect(second).toMatchObject({ attempt: 2, previousFailure: 'attempt 1 of 3: out of memory' })
    expect(await runnerB.fail(second!.id, 'out of memory again')).toBe('retrying')
    clock.advance(9_999) // backoff doubled to 10 s
    expect(await runnerA.claim()).toBeUndefined()
    clock.advance(1)
    const third = await runnerA.claim()
    expect(third?.attempt).toBe(3)
    expect(await runnerA.fail(third!.id, 'disk full')).toBe('failed')
    clock.advance(3_600_000)
    expect(await runnerB.claim()).toBeUndefined()
    const detail = await getExperiment(dbA, id)
    expect(detail?.state).toBe('failed')
    expect(detail?.runDetails[0]).toMatchObject({ state: 'failed', attempts: 3, failureReason: 'attempt 3 of 3: disk full' })
  })

  it('a run whose runner dies on its last attempt fails with the reason instead of looping', async () => {
    const id = await submit(dbA, { maxAttempts: 1 })
    await runnerA.claim()
    clock.advance(30_001)
    expect(await runnerB.claim()).toBeUndefined()
    const run = (await getExperiment(dbA, id))?.runDetails[0]
    expect(run?.state).toBe('failed')
    expect(run?.failureReason).toMatch(/lease of runner-a expired \(runner lost\); no attempts left/)
  })

  it('a non-retryable failure ends the run at once', async () => {
    await submit(dbA, { maxAttempts: 5 })
    const job = await runnerA.claim()
    expect(await runnerA.fail(job!.id, 'no generator "SD_V1.4" under /data/mini', { retryable: false })).toBe('failed')
  })

  it('cancel stops the holder at its next heartbeat, drops its results, and leaves queued runs unclaimable', async () => {
    const id = await submit(dbA, { protocol: 'table4' })
    const running = await runnerA.claim()
    expect(await cancelExperiment(dbB, id)).toEqual({ id, state: 'cancelled', cancelledRuns: 2 })
    expect(await runnerA.heartbeat(running!.id)).toBe('cancelled')
    expect(await runnerA.complete(running!.id, [metric('ADM', 1)], [])).toBe(false)
    expect(await runnerB.claim()).toBeUndefined()
    const [rows] = await dbA.select({ n: count() }).from(metrics)
    expect(rows?.n).toBe(0)
    expect((await getExperiment(dbA, id))?.state).toBe('cancelled')
    expect(await cancelExperiment(dbA, id)).toEqual({ id, state: 'cancelled', cancelledRuns: 0 })
  })

  it('metric writes are idempotent: one row per run × test set × degradation, the latest values kept', async () => {
    const id = await submit(dbA, { protocol: 'table5', generators: ['SD_V1.4', 'ADM'] })
    const job = await runnerA.claim()
    const cells = job!.degradations.map((d, i) => metric('SD_V1.4', 0.5 + i / 100, d))
    await writeMetrics(dbA, job!.id, id, cells)
    await writeMetrics(
      dbB,
      job!.id,
      id,
      cells.map((c) => ({ ...c, accuracy: 0.42 })),
    )
    expect(await runnerA.complete(job!.id, cells, [])).toBe(true)
    const rows = await dbA.select().from(metrics).where(eq(metrics.jobId, job!.id))
    expect(rows).toHaveLength(7)
    expect(new Set(rows.map((r) => r.degradation))).toEqual(new Set(['none', 'downscale-112', 'downscale-64', 'jpeg-65', 'jpeg-30', 'blur-3', 'blur-5']))
    expect(rows.find((r) => r.degradation === 'jpeg-65')?.accuracy).toBeCloseTo(0.53)
    const [state] = await dbA.select({ state: jobs.state }).from(jobs).where(eq(jobs.id, job!.id))
    expect(state?.state).toBe('succeeded')
  })
})
