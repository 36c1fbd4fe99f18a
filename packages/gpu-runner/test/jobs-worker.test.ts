import { rm, mkdtemp, readdir } from 'node:fs/promises'
import { getEventListeners } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cancelExperiment, getExperiment, type Db } from '@genimage/shared/db'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JobQueue, JobWorker, trainingExecutor, type RunContext } from '../src/jobs/index.ts'
import { resolveTfBackend } from '@genimage/training/tf'
import { fileDatabase, metric, submit } from './jobs-fixtures.ts'
import { makeSyntheticDataset } from '@genimage/training/train'

let database: Awaited<ReturnType<typeof fileDatabase>>
let db: Db
let artifacts: string
let root: string

beforeAll(async () => {
  await resolveTfBackend({ priority: ['wasm', 'cpu'], log: () => {} })
  database = await fileDatabase()
  db = await database.open()
  artifacts = await mkdtemp(join(tmpdir(), 'genimage-artifacts-'))
  root = await makeSyntheticDataset({ generators: ['GenA', 'GenB'], size: 64, trainPerClass: 16, valPerClass: 8 })
})
afterAll(async () => {
  await database.close()
  await rm(artifacts, { recursive: true, force: true })
  await rm(root, { recursive: true, force: true })
})

describe('JobWorker', () => {
  it('stops a cancelled run within one heartbeat and reports nothing for it', async () => {
    const id = await submit(db, { generators: ['SD_V1.4'] })
    const heartbeatMs = 100
    const worker = new JobWorker(
      new JobQueue(db, { worker: 'w1', leaseMs: 3_000 }),
      async (context: RunContext) => {
        context.progress({ phase: 'training', step: 1, totalSteps: 100 })
        // training that would take far longer than the test: it only ends when the signal fires
        await new Promise((_, fail) => context.signal.addEventListener('abort', () => fail(context.signal.reason), { once: true }))
        return { metrics: [metric('SD_V1.4', 1)], history: [] }
      },
      { artifactRoot: artifacts, heartbeatMs, log: () => {} },
    )
    const running = worker.runOnce()
    let cancelledAt = 0
    for (;;) {
      const run = (await getExperiment(db, id))?.runDetails[0]
      if (run?.state === 'running' && run.progress.step === 1) break
      await new Promise((r) => setTimeout(r, 20))
    }
    cancelledAt = performance.now()
    await cancelExperiment(db, id)
    expect(await running).toBe('cancelled')
    expect(performance.now() - cancelledAt).toBeLessThan(heartbeatMs * 2 + 100)
    const detail = await getExperiment(db, id)
    expect(detail).toMatchObject({ state: 'cancelled', runs: { cancelled: 1 } })
    expect(detail?.runDetails[0]?.metrics).toEqual([])
  })

  it('a worker shutting down hands its run back at once, without spending an attempt', async () => {
    const id = await submit(db, { generators: ['SD_V1.4'] })
    const stop = new AbortController()
    let started!: () => void
    const running = new Promise<void>((r) => (started = r))
    const worker = new JobWorker(
      new JobQueue(db, { worker: 'w-stop', leaseMs: 60_000 }),
      async (context: RunContext) => {
        started()
        await new Promise((_, fail) => context.signal.addEventListener('abort', () => fail(context.signal.reason), { once: true }))
        return { metrics: [], history: [] }
      },
      { artifactRoot: artifacts, heartbeatMs: 1_000, log: () => {} },
    )
    const end = worker.runOnce(stop.signal)
    await running
    stop.abort()
    expect(await end).toBe('released')
    const next = await new JobQueue(db, { worker: 'w-next', leaseMs: 60_000 }).claim()
    expect(next).toMatchObject({ experimentId: id, attempt: 1 })
  })

  it('polling an empty queue leaves no listeners behind on the stop signal', async () => {
    const empty = await fileDatabase()
    const stop = new AbortController()
    let polls = 0
    const queue = new JobQueue(await empty.open(), { worker: 'idle' })
    const claim = queue.claim.bind(queue)
    queue.claim = async () => {
      if (++polls === 30) stop.abort()
      return claim()
    }
    const worker = new JobWorker(queue, async () => ({ metrics: [], history: [] }), { artifactRoot: artifacts, pollMs: 1, log: () => {} })
    const peak: number[] = []
    const sampler = setInterval(() => peak.push(getEventListeners(stop.signal, 'abort').length), 1)
    await worker.run(stop.signal)
    clearInterval(sampler)
    await empty.close()
    expect(polls).toBe(30)
    expect(Math.max(0, ...peak)).toBeLessThanOrEqual(1)
  })

  it('trains, exports and evaluates a real run (npr-tiny, Table 5 degradations) into one metric row per cell', async () => {
    const id = await submit(db, {
      protocol: 'table5',
      models: ['npr-tiny'],
      dataRoot: root,
      generators: ['GenA', 'GenB'],
      trainOn: ['GenA'],
      epochs: 2,
      batchSize: 8,
      seeds: [3],
    })
    const worker = new JobWorker(new JobQueue(db, { worker: 'w2', leaseMs: 60_000 }), trainingExecutor(), {
      artifactRoot: artifacts,
      heartbeatMs: 500,
      log: () => {},
    })
    expect(await worker.runOnce()).toBe('succeeded')
    const detail = await getExperiment(db, id)
    const run = detail!.runDetails[0]!
    expect(detail?.state).toBe('succeeded')
    expect(run.history.map((h) => h.epoch)).toEqual([1, 2])
    expect(run.metrics.map((m) => m.degradation).sort()).toEqual(['blur-3', 'blur-5', 'downscale-112', 'downscale-64', 'jpeg-30', 'jpeg-65', 'none'])
    const clean = run.metrics.find((m) => m.degradation === 'none')!
    expect(clean).toMatchObject({ testSet: 'GenA', count: 16, realCount: 8, fakeCount: 8 })
    expect(clean.accuracy).toBeGreaterThanOrEqual(0.75) // the synthetic fakes carry the up-sampling trace NPR sees
    expect(clean.accuracyCi![0]).toBeLessThanOrEqual(clean.accuracy)
    // blur sigma 5 wipes out the nearest-neighbour trace: the detector must do worse there than on clean images
    expect(run.metrics.find((m) => m.degradation === 'blur-5')!.fakeAccuracy!).toBeLessThan(clean.fakeAccuracy!)
    expect(run.artifactDir).toBe(join(artifacts, id, run.id))
    expect(await readdir(join(artifacts, id, run.id, 'model'))).toEqual(expect.arrayContaining(['card.json', 'model.onnx', 'training.json']))
  })
})
