import { count, eq } from 'drizzle-orm'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ExperimentSpec, ExperimentState, type RunCounts, type RunMetric } from '../src/contracts/experiments.ts'
import {
  claimJob,
  completeJob,
  createDb,
  createExperiment,
  type Db,
  deriveExperimentState,
  FINAL_STATES,
  failJob,
  getExperiment,
  isFinalState,
  jobs,
  manifestImages,
  manifestImagesOf,
  metrics,
  releaseJob,
} from '../src/db/index.ts'
import { expandProtocol } from '../src/genimage/protocols.ts'

let db: Db
beforeEach(async () => {
  db = await createDb(':memory:')
})
afterEach(() => db.$client.close())

const NOW = 1_800_000_000_000
const runnerA = { worker: 'runner-a', now: NOW }
const runnerB = { worker: 'runner-b', now: NOW }

async function submit(maxAttempts = 3): Promise<string> {
  const spec = ExperimentSpec.parse({ protocol: 'table3', models: ['npr-tiny'], dataRoot: '/data/mini', generators: ['SD_V1.4', 'ADM'], maxAttempts })
  return createExperiment(db, spec, expandProtocol(spec), new Date(NOW))
}

const metric = (testSet: string): RunMetric => ({
  testSet,
  degradation: 'none',
  accuracy: 0.8,
  realAccuracy: 0.8,
  fakeAccuracy: 0.8,
  averagePrecision: 0.9,
  rocAuc: 0.9,
  count: 20,
  realCount: 10,
  fakeCount: 10,
  accuracyCi: null,
})

describe('job queries', () => {
  it('completeJob stores results only for the lease holder; anyone else gets false and writes nothing', async () => {
    const id = await submit()
    const job = await claimJob(db, runnerA, NOW + 30_000)
    expect(job).toMatchObject({ experimentId: id, attempt: 1 })
    expect(await completeJob(db, job!.id, runnerB, [metric('ADM')], [])).toBe(false)
    const [none] = await db.select({ n: count() }).from(metrics)
    expect(none?.n).toBe(0)
    expect(await completeJob(db, job!.id, runnerA, [metric('ADM'), metric('SD_V1.4')], [])).toBe(true)
    const [two] = await db.select({ n: count() }).from(metrics)
    expect(two?.n).toBe(2)
    expect((await getExperiment(db, id))?.state).toBe('succeeded')
  })

  it('failJob holds a retry back for the delay the caller chooses for that attempt', async () => {
    await submit()
    const job = await claimJob(db, runnerA, NOW + 30_000)
    const asked: number[] = []
    const retryDelayMs = (attempt: number) => {
      asked.push(attempt)
      return 60_000
    }
    expect(await failJob(db, job!.id, runnerB, 'not mine', { retryDelayMs })).toBe('not_owner')
    expect(await failJob(db, job!.id, runnerA, 'out of memory', { retryDelayMs })).toBe('retrying')
    expect(asked).toEqual([1])
    expect(await claimJob(db, { ...runnerB, now: NOW + 59_999 }, NOW + 90_000)).toBeUndefined()
    expect(await claimJob(db, { ...runnerB, now: NOW + 60_000 }, NOW + 90_000)).toMatchObject({ id: job!.id, attempt: 2 })
  })

  it('releaseJob queues the job again at once without counting the attempt', async () => {
    await submit()
    const job = await claimJob(db, runnerA, NOW + 30_000)
    await releaseJob(db, job!.id, runnerA)
    const [row] = await db.select({ state: jobs.state, attempts: jobs.attempts }).from(jobs).where(eq(jobs.id, job!.id))
    expect(row).toEqual({ state: 'queued', attempts: 0 })
    expect(await claimJob(db, runnerB, NOW + 30_000)).toMatchObject({ id: job!.id, attempt: 1 })
  })
})

describe('manifestImagesOf', () => {
  it("returns one dataset root's images sorted by path, never another root's", async () => {
    const row = (dataset: string, path: string) => ({
      dataset,
      path,
      generator: path.split('/')[0]!,
      split: 'train',
      label: path.includes('/ai/') ? 'ai' : 'nature',
      format: 'png',
      width: 8,
      height: 8,
      bytes: 100,
      sha256: 'a'.repeat(64),
      mtimeMs: 1,
    })
    await db
      .insert(manifestImages)
      .values([row('/data/mini', 'ADM/train/nature/b.png'), row('/data/other', 'ADM/train/ai/x.png'), row('/data/mini', 'ADM/train/ai/a.png')])
    expect(await manifestImagesOf(db, '/data/mini')).toEqual([
      { path: 'ADM/train/ai/a.png', generator: 'ADM', split: 'train', label: 'ai', format: 'png' },
      { path: 'ADM/train/nature/b.png', generator: 'ADM', split: 'train', label: 'nature', format: 'png' },
    ])
    expect(await manifestImagesOf(db, '/data/none')).toEqual([])
  })
})

describe('isFinalState', () => {
  it('is true exactly for succeeded, failed and cancelled', () => {
    expect(ExperimentState.options.filter(isFinalState)).toEqual([...FINAL_STATES])
  })

  it('agrees with the derived experiment state: final once no run is queued or running', () => {
    const counts = (queued: number, running: number, succeeded: number, failed: number): RunCounts => ({ queued, running, succeeded, failed, cancelled: 0 })
    for (const c of [counts(1, 0, 0, 0), counts(0, 1, 1, 0), counts(1, 0, 0, 1), counts(0, 0, 2, 0), counts(0, 0, 1, 1), counts(0, 0, 0, 0)]) {
      expect(isFinalState(deriveExperimentState(false, c))).toBe(c.queued + c.running === 0)
    }
    expect(isFinalState(deriveExperimentState(true, counts(1, 1, 0, 0)))).toBe(true)
  })
})
