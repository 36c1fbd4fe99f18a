import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ExperimentSpec, type ExperimentSpecInput, type RunMetric } from '@genimage/shared'
import { createDb, createExperiment, type Db } from '@genimage/shared/db'
import { expandProtocol } from '@genimage/shared/genimage'

/** A temp folder with a libSQL file database; `open()` gives a new connection (one per simulated runner). */
export async function fileDatabase() {
  const dir = await mkdtemp(join(tmpdir(), 'genimage-jobs-'))
  const url = `file:${join(dir, 'jobs.db')}`
  const connections: Db[] = []
  return {
    dir,
    url,
    async open(): Promise<Db> {
      const db = await createDb(url)
      connections.push(db)
      return db
    },
    async close() {
      for (const db of connections) db.$client.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Submits a spec the way the edge does: validate, expand, store. */
export async function submit(db: Db, input: Partial<ExperimentSpecInput> = {}): Promise<string> {
  const spec = ExperimentSpec.parse({ protocol: 'table3', models: ['npr-tiny'], dataRoot: '/data/mini', generators: ['SD_V1.4', 'ADM'], ...input })
  return createExperiment(db, spec, expandProtocol(spec))
}

/** A metric row with a chosen accuracy, for storage tests. */
export const metric = (testSet: string, accuracy: number, degradation = 'none'): RunMetric => ({
  testSet,
  degradation,
  accuracy,
  realAccuracy: accuracy,
  fakeAccuracy: accuracy,
  averagePrecision: 0.9,
  rocAuc: 0.9,
  count: 20,
  realCount: 10,
  fakeCount: 10,
  accuracyCi: [accuracy - 0.1, accuracy + 0.1],
})

/** A clock tests move by hand, shared by both runners. */
export function manualClock(start = 1_800_000_000_000) {
  let now = start
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms
    },
  }
}
