import {
  cancelExperiment,
  createdExperiment,
  createExperiment,
  type Db,
  experimentOwner,
  experimentProgress,
  getExperiment,
  listExperiments,
} from '@genimage/shared/db'
import type { ExperimentStore } from '../routes/experiments.ts'

/** ExperimentStore over the project's libSQL database: the same rows runners claim jobs from. */
export function libsqlExperimentStore(db: Db, options: { progressPollMs?: number } = {}): ExperimentStore {
  return {
    async create(spec, runs, ownerKeyId) {
      const id = await createExperiment(db, spec, runs, new Date(), ownerKeyId)
      const created = await createdExperiment(db, id)
      if (!created) throw new Error(`experiment ${id} was not stored`)
      return created
    },
    list: (limit, owner) => listExperiments(db, limit, owner),
    get: (id, owner) => getExperiment(db, id, owner),
    cancel: (id, owner) => cancelExperiment(db, id, { owner }),
    owner: (id) => experimentOwner(db, id),
    progress: (id) => experimentProgress(db, id),
    progressPollMs: options.progressPollMs,
  }
}
