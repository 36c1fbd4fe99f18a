import { join } from 'node:path'
import type { RunEpoch, RunMetric, RunProgress } from '@genimage/shared'
import { QUEUED_PROGRESS } from '@genimage/shared/db'
import type { ClaimedJob, JobQueue } from './job-queue.ts'
import { checkDataRoot, publicRunFailure } from './run-failure.ts'

/** What an executor gets for one claimed run. */
export interface RunContext {
  job: ClaimedJob
  /** `<artifactRoot>/<experiment>/<job>`: the same on every runner, so a retry finds the checkpoints. */
  artifactDir: string
  /** Fires when the run is cancelled, its lease is lost, or the worker shuts down. */
  signal: AbortSignal
  /** Merges into the progress written at the next heartbeat. */
  progress(update: Partial<RunProgress>): void
  /** Records a finished epoch (training curves). */
  epoch(record: RunEpoch): void
}

export interface RunOutcome {
  metrics: RunMetric[]
  history: RunEpoch[]
}

/** Trains and evaluates one run; throws to fail the attempt (an error with `retryable: false` fails the job). */
export type RunExecutor = (context: RunContext) => Promise<RunOutcome>

export interface JobWorkerOptions {
  /** Root of checkpoints and exported models (a shared volume in production). */
  artifactRoot: string
  /** Heartbeat period; progress is written and cancellation noticed once per beat (default: a third of the lease, at most 2 s). */
  heartbeatMs?: number
  /** Wait between polls when no job is claimable (default 1 s). */
  pollMs?: number
  /** Folders a run's `dataRoot` must lie in (DATA_ROOTS); others fail at once, unread. Undefined: any. */
  dataRoots?: readonly string[]
  log?: (line: Record<string, unknown>) => void
}

/** How one claimed job ended for this worker. */
export type JobEnd = 'idle' | 'succeeded' | 'retrying' | 'failed' | 'cancelled' | 'lease_lost' | 'released'

/** Progress of a run a worker has just claimed: training, every counter at zero. */
export const INITIAL_PROGRESS: RunProgress = { ...QUEUED_PROGRESS, phase: 'training' }

const NON_RETRYABLE = new Set([
  'not_a_directory',
  'unknown_generator',
  'empty_split',
  'checkpoint_mismatch',
  'checkpoint_corrupt',
  'model_not_found',
  'invalid_request',
])

function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true
  const { retryable, code } = error as { retryable?: boolean; code?: string }
  if (retryable !== undefined) return retryable
  return !(code && NON_RETRYABLE.has(code))
}

const abortable = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((done) => {
    const onAbort = () => {
      clearTimeout(timer)
      done()
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      done()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })

/**
 * A runner's job loop: claim a run, keep its lease alive with heartbeats that also carry progress, run it,
 * then complete (metrics and state in one transaction) or fail (retry with backoff while attempts remain).
 */
export class JobWorker {
  private readonly heartbeatMs: number
  private readonly pollMs: number
  private readonly log: (line: Record<string, unknown>) => void

  constructor(
    readonly queue: JobQueue,
    private readonly executor: RunExecutor,
    private readonly options: JobWorkerOptions,
  ) {
    this.heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.min(2_000, Math.floor(queue.leaseMs / 3)))
    this.pollMs = options.pollMs ?? 1000
    this.log = options.log ?? ((line) => console.error(JSON.stringify({ level: 'info', component: 'job-worker', worker: queue.worker, ...line })))
  }

  /** Claims and runs at most one job. `stop` aborting hands the job back (released) instead of failing it. */
  async runOnce(stop?: AbortSignal): Promise<JobEnd> {
    const job = await this.queue.claim()
    if (!job) return 'idle'
    const artifactDir = join(this.options.artifactRoot, job.experimentId, job.id)
    this.log({ msg: 'claimed', job: job.id, run: job.runIndex, model: job.model, attempt: job.attempt, previous_failure: job.previousFailure })
    const controller = new AbortController()
    let stopReason: 'cancelled' | 'lease_lost' | 'released' | undefined
    const onStop = () => {
      stopReason ??= 'released'
      controller.abort(new Error('worker stopping'))
    }
    stop?.addEventListener('abort', onStop, { once: true })
    let progress: RunProgress = { ...INITIAL_PROGRESS, epochs: job.spec.epochs }
    const history: RunEpoch[] = []
    let beating: Promise<void> = Promise.resolve()
    const beat = () => {
      beating = beating.then(async () => {
        if (controller.signal.aborted) return
        const outcome = await this.queue.heartbeat(job.id, { progress, history, artifactDir }).catch((error: unknown) => {
          this.log({ level: 'warn', msg: 'heartbeat failed', job: job.id, error: String(error) })
          return 'ok' as const
        })
        if (outcome !== 'ok') {
          stopReason ??= outcome
          controller.abort(new Error(outcome === 'cancelled' ? 'run cancelled' : 'lease lost'))
        }
      })
      return beating
    }
    await beat()
    const timer = setInterval(beat, this.heartbeatMs)
    try {
      await checkDataRoot(job.spec.dataRoot, this.options.dataRoots)
      const outcome = await this.executor({
        job,
        artifactDir,
        signal: controller.signal,
        progress: (update) => {
          progress = { ...progress, ...update }
        },
        epoch: (record) => void history.push(record),
      })
      clearInterval(timer)
      await beating
      if (stopReason) return await this.afterStop(job, stopReason)
      const completed = await this.queue.complete(job.id, outcome.metrics, outcome.history.length ? outcome.history : history)
      this.log({ msg: completed ? 'succeeded' : 'finished without the lease; result dropped', job: job.id, metrics: outcome.metrics.length })
      return completed ? 'succeeded' : 'lease_lost'
    } catch (error) {
      clearInterval(timer)
      await beating
      if (stopReason) return await this.afterStop(job, stopReason)
      // The API shows a fixed sentence; the message, which names paths on this runner, stays in this log.
      const detail = error instanceof Error ? error.message : String(error)
      const end = await this.queue.fail(job.id, publicRunFailure(error, job.id), { retryable: isRetryable(error) })
      this.log({ level: 'warn', msg: 'attempt failed', job: job.id, attempt: job.attempt, reason: detail, outcome: end })
      return end === 'not_owner' ? 'lease_lost' : end
    } finally {
      stop?.removeEventListener('abort', onStop)
    }
  }

  private async afterStop(job: ClaimedJob, reason: 'cancelled' | 'lease_lost' | 'released'): Promise<JobEnd> {
    if (reason === 'released') await this.queue.release(job.id)
    this.log({
      msg: reason === 'cancelled' ? 'stopped: run cancelled' : reason === 'lease_lost' ? 'stopped: lease lost' : 'handed back on shutdown',
      job: job.id,
    })
    return reason
  }

  /** Runs jobs until `stop` aborts, polling when the queue is empty. */
  async run(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      const end = await this.runOnce(stop)
      if (end === 'idle') await abortable(this.pollMs, stop)
    }
  }
}
