import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { createDb, ensureDbDirectory } from '@genimage/shared/db'
import { resolveTfBackend, type TfBackendName } from '@genimage/training/tf'
import { JobQueue } from './job-queue.ts'
import { JobWorker, type RunExecutor } from './job-worker.ts'
import { dataRootsFromEnv } from './run-failure.ts'
import { trainingExecutor } from './training-executor.ts'

export interface TrainWorkerSettings {
  /** libSQL URL of the platform database (the one the edge writes experiments to). */
  databaseUrl: string
  databaseAuthToken?: string
  /** Checkpoints and exported models; must be the same path on every runner (a shared volume). */
  artifactRoot: string
  /** Lease identity (default `<host>-<pid>`). */
  worker?: string
  leaseMs?: number
  heartbeatMs?: number
  pollMs?: number
  backoffMs?: number
  /**
   * The tfjs backend asked for by name, tried first and allowed what only a named backend may do (`webgpu` on a
   * software adapter). Default: `GENIMAGE_TF_BACKEND`, else by priority (see `resolveTfBackend`).
   */
  backend?: TfBackendName | 'auto'
  threads?: number
  /** onnxruntime execution providers for scoring exported models (default cpu). */
  providers?: readonly string[]
  /** Folders a run's `dataRoot` must lie in (default: DATA_ROOTS, comma-separated; unset: any). */
  dataRoots?: readonly string[]
  /** Replaces the training engine (tests). */
  executor?: RunExecutor
}

export interface RunningTrainWorker {
  worker: JobWorker
  /** Resolves when the loop ends after `stop()`; a job in hand is handed back for another runner. */
  done: Promise<void>
  stop(): Promise<void>
}

/**
 * Starts a runner's `train` capability: resolves a tfjs backend, opens the database, and claims and runs
 * experiment jobs until stopped.
 * @example const w = await startTrainWorker({ databaseUrl: 'file:./data/genimage.db', artifactRoot: './artifacts' })
 */
export async function startTrainWorker(settings: TrainWorkerSettings): Promise<RunningTrainWorker> {
  if (!settings.executor) await resolveTfBackend({ backend: settings.backend, threads: settings.threads })
  await ensureDbDirectory(settings.databaseUrl)
  const db = await createDb(settings.databaseUrl, { authToken: settings.databaseAuthToken })
  const queue = new JobQueue(db, { worker: settings.worker ?? `${hostname()}-${process.pid}`, leaseMs: settings.leaseMs, backoffMs: settings.backoffMs })
  const worker = new JobWorker(queue, settings.executor ?? trainingExecutor({ providers: settings.providers }), {
    artifactRoot: resolve(settings.artifactRoot),
    heartbeatMs: settings.heartbeatMs,
    pollMs: settings.pollMs,
    dataRoots: settings.dataRoots ?? dataRootsFromEnv(process.env.DATA_ROOTS),
  })
  const stopper = new AbortController()
  const done = worker.run(stopper.signal).finally(() => db.$client.close())
  return {
    worker,
    done,
    async stop() {
      stopper.abort()
      await done
    },
  }
}
