import { type Db, listRunners, RUNNER_HEARTBEAT_TTL_MS } from '@genimage/shared/db'
import type { RunnerSource } from '../runners/runner-pool.ts'

/**
 * The runner registry in libSQL as a source for the RunnerPool: runners with the `detect` capability whose
 * heartbeat is younger than `maxAgeMs`.
 */
export function libsqlRunnerSource(db: Db, options: { maxAgeMs?: number; now?: () => Date } = {}): RunnerSource {
  return {
    async list() {
      const rows = await listRunners(db, {
        capability: 'detect',
        maxAgeMs: options.maxAgeMs ?? RUNNER_HEARTBEAT_TTL_MS,
        now: options.now?.() ?? new Date(),
      })
      return rows.map(({ name, url, ready, draining, inflight }) => ({ name, url, ready, draining, inflight }))
    },
  }
}
