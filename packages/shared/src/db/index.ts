import { fileURLToPath } from 'node:url'
import type { Client } from '@libsql/client'
import { sql } from 'drizzle-orm'
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql'
import { migrate } from 'drizzle-orm/libsql/migrator'
import * as schema from './schema/index.ts'

export * from './schema/index.ts'
export { schema }

export type Db = LibSQLDatabase<typeof schema> & { $client: Client }

export interface CreateDbOptions {
  /** Auth token for a remote libSQL server (sqld / Turso). */
  authToken?: string
  /** Apply the committed migrations before returning (default true). */
  migrate?: boolean
}

/** Folder of the committed drizzle-kit migrations. */
export const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url))

/**
 * Opens a libSQL database and applies the committed migrations.
 * `file:` and `:memory:` URLs run embedded; `libsql:`, `http(s):` and `ws(s):` URLs talk to a libSQL server.
 * @example const db = await createDb('file:./data/genimage.db')
 */
export async function createDb(url: string, options: CreateDbOptions = {}): Promise<Db> {
  const { createClient } = await import('@libsql/client')
  const client = createClient({ url, authToken: options.authToken })
  if (url.startsWith('file:')) {
    // Several processes (edge, runners, CLI) share one file: WAL lets readers go on while one writes.
    await client.execute('PRAGMA journal_mode = WAL')
    // In WAL mode NORMAL syncs at checkpoints, not on every commit: a crash of the process loses nothing, a power
    // loss at most the last commits, and the file never corrupts. FULL made each detection insert cost ~0.5 ms of
    // CPU and ~0.7 ms of blocking fsync on the edge's event loop (measured, 2 cores).
    await client.execute('PRAGMA synchronous = NORMAL')
    await client.execute('PRAGMA busy_timeout = 5000')
  }
  const db = drizzle(client, { schema }) as Db
  if (options.migrate !== false) await migrate(db, { migrationsFolder })
  return db
}

/** Cheap check that the database answers a query (for readiness probes); never throws. */
export async function isDbReachable(db: Db): Promise<boolean> {
  try {
    await db.run(sql`select 1`)
    return true
  } catch {
    return false
  }
}

/** Creates the parent folder of a `file:` URL so a fresh checkout can start without set-up. */
export async function ensureDbDirectory(url: string): Promise<void> {
  if (!url.startsWith('file:')) return
  const { mkdir } = await import('node:fs/promises')
  const { dirname } = await import('node:path')
  const path = url.slice('file:'.length)
  if (path && path !== ':memory:') await mkdir(dirname(path), { recursive: true })
}
export * from './runners.ts'
export * from './api-keys.ts'
export * from './callbacks.ts'
export {
  type DetectionRow,
  type DetectionsCursor,
  type DetectionsFilter,
  type DetectionsOwner,
  decodeDetectionsCursor,
  encodeDetectionsCursor,
  insertDetections,
  listDetections,
} from './detections.ts'
export { deriveExperimentState, FINAL_STATES, type FinalState, isFinalState, QUEUED_PROGRESS, UNFINISHED_RUN_STATES } from './experiment-state.ts'
export {
  cancelExperiment,
  createdExperiment,
  createExperiment,
  type ExperimentOwner,
  experimentOwner,
  experimentProgress,
  getExperiment,
  listExperiments,
  publicFailureReason,
} from './experiment-store.ts'
export {
  type ClaimedJob,
  claimJob,
  completeJob,
  type FailJobOptions,
  failJob,
  type HeartbeatOutcome,
  type HeartbeatUpdate,
  heartbeatJob,
  type JobActor,
  releaseJob,
  writeMetrics,
} from './jobs.ts'
export {
  countManifestRecords,
  deleteManifestRecords,
  type ManifestImage,
  type ManifestRecord,
  manifestImagesOf,
  readManifestRecords,
  recordedFileStats,
  upsertManifestRecords,
} from './manifest.ts'
export {
  createDetectJob,
  type DetectJobItemOutcome,
  type DetectJobItemRow,
  type DetectJobRow,
  decodeDetectJobCursor,
  detectJobsAwaitingCallback,
  detectJobsToFinish,
  dueDetectJobItems,
  encodeDetectJobCursor,
  finishDetectJob,
  getDetectJob,
  markDetectJobCallbackEnqueued,
  type NewDetectJob,
  type NewDetectJobItem,
  nextDetectJobItemDue,
  postponeDetectJobItems,
  readDetectJobItems,
  recordDetectJobItems,
  spooledDetectJobs,
} from './detect-jobs.ts'
