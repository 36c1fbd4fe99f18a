import { cancelExperiment, createExperiment, type Db, experimentProgress, getExperiment, listExperiments } from '@genimage/shared/db'
import type { ExperimentStore } from '../routes/experiments.ts'

/** ExperimentStore over the project's libSQL database: the same rows runners claim jobs from. */
export function libsqlExperimentStore(db: Db, options: { progressPollMs?: number } = {}): ExperimentStore {
  return {
    create: (spec, runs) => createExperiment(db, spec, runs),
    list: (limit) => listExperiments(db, limit),
    get: (id) => getExperiment(db, id),
    cancel: (id) => cancelExperiment(db, id),
    progress: (id) => experimentProgress(db, id),
    progressPollMs: options.progressPollMs,
  }
}
