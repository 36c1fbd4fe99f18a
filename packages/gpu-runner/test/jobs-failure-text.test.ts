import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Db, getExperiment } from '@genimage/shared/db'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JobQueue, JobWorker, type RunExecutor, trainingExecutor } from '../src/jobs/index.ts'
import { fileDatabase, submit } from './jobs-fixtures.ts'

let database: Awaited<ReturnType<typeof fileDatabase>>
let db: Db
let work: string

beforeAll(async () => {
  database = await fileDatabase()
  db = await database.open()
  work = await mkdtemp(join(tmpdir(), 'genimage-roots-'))
})
afterAll(async () => {
  await database.close()
  await rm(work, { recursive: true, force: true })
})

/** Runs the one queued job with `executor` and returns what the API shows for it, plus the worker's log lines. */
async function runOne(executor: RunExecutor, dataRoots?: string[]) {
  const logs: Array<Record<string, unknown>> = []
  const worker = new JobWorker(new JobQueue(db, { worker: `w-${crypto.randomUUID()}`, leaseMs: 30_000, backoffMs: 1 }), executor, {
    artifactRoot: join(work, 'artifacts'),
    heartbeatMs: 1_000,
    dataRoots,
    log: (line) => logs.push(line),
  })
  const end = await worker.runOnce()
  return { end, logs }
}

describe('failure reasons over the API (issue 14 item 7)', () => {
  it('never names a path on the runner, nor tells whether it exists: one fixed sentence, the detail in the log', async () => {
    const reasons: string[] = []
    for (const dataRoot of ['/root', '/no/such/folder', '/etc/hostname']) {
      const id = await submit(db, { dataRoot, generators: ['SD_V1.4'], maxAttempts: 1 })
      const { end, logs } = await runOne(trainingExecutor())
      expect(end).toBe('failed')
      const run = (await getExperiment(db, id))!.runDetails[0]!
      expect(run.failureReason).toMatch(/is missing or not readable on the runner/)
      expect(run.failureReason).not.toMatch(/\/root|\/no\/such|\/etc|ENOENT|EACCES|ENOTDIR|scandir/)
      expect(JSON.stringify(logs)).toContain(dataRoot)
      reasons.push(run.failureReason!)
    }
    expect(new Set(reasons).size).toBe(1)
  })

  it('an unexpected error shows its class and code, not its message', async () => {
    const id = await submit(db, { generators: ['SD_V1.4'], maxAttempts: 1 })
    const secret = Object.assign(new Error("EACCES: permission denied, open '/etc/shadow'"), { code: 'EACCES' })
    await runOne(async () => {
      throw secret
    })
    const reason = (await getExperiment(db, id))!.runDetails[0]!.failureReason!
    expect(reason).toMatch(/the run failed on the runner \(Error\); the runner's log has the details/)
    expect(reason).not.toMatch(/shadow|\/etc/)
  })

  it("refuses a data root outside the runner's DATA_ROOTS before reading it, and does not retry", async () => {
    const allowed = join(work, 'allowed')
    await mkdir(join(allowed, 'mini'), { recursive: true })
    await symlink('/etc', join(allowed, 'escape'))
    let executed = 0
    const executor: RunExecutor = async () => {
      executed++
      return { metrics: [], history: [] }
    }
    for (const dataRoot of ['/etc', join(allowed, 'escape')]) {
      const id = await submit(db, { dataRoot, generators: ['SD_V1.4'], maxAttempts: 3 })
      expect((await runOne(executor, [allowed])).end).toBe('failed')
      const run = (await getExperiment(db, id))!.runDetails[0]!
      expect(run).toMatchObject({ state: 'failed', attempts: 1 })
      expect(run.failureReason).toMatch(/not inside this runner's DATA_ROOTS/)
      expect(run.failureReason).not.toContain('/etc')
    }
    expect(executed).toBe(0)
    await submit(db, { dataRoot: join(allowed, 'mini'), generators: ['SD_V1.4'] })
    expect((await runOne(executor, [allowed])).end).toBe('succeeded')
    expect(executed).toBe(1)
  })
})
