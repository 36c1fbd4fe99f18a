import type { RunEpoch, RunMetric } from '@genimage/shared'
import {
  type ClaimedJob,
  claimJob,
  completeJob,
  type Db,
  failJob,
  type HeartbeatOutcome,
  type HeartbeatUpdate,
  heartbeatJob,
  type JobActor,
  releaseJob,
} from '@genimage/shared/db'

export type { ClaimedJob, HeartbeatOutcome }

export interface JobQueueOptions {
  /** Identity written into the lease. */
  worker: string
  /** How long a lease lasts without a heartbeat (default 30 s). */
  leaseMs?: number
  /** First retry delay after a failed attempt; doubles per attempt (default 5 s, at most 10 min). */
  backoffMs?: number
  /** Injectable clock (ms since epoch) for tests. */
  clock?: () => number
}

const MAX_BACKOFF_MS = 10 * 60_000

/**
 * The libSQL job queue as a runner sees it: claim with a lease, heartbeat, complete with metrics, fail with
 * bounded, backed-off retries. It holds the worker's identity, lease length and retry policy; every transition
 * is one conditional statement (or one transaction) in `@genimage/shared/db`, so two runners on the same
 * database never both own a job.
 */
export class JobQueue {
  readonly worker: string
  readonly leaseMs: number
  private readonly backoffMs: number
  private readonly clock: () => number

  constructor(
    private readonly db: Db,
    options: JobQueueOptions,
  ) {
    this.worker = options.worker
    this.leaseMs = options.leaseMs ?? 30_000
    this.backoffMs = options.backoffMs ?? 5_000
    this.clock = options.clock ?? Date.now
  }

  private actor(): JobActor {
    return { worker: this.worker, now: this.clock() }
  }

  /** Takes the oldest claimable job — queued and due, or running with an expired lease — or returns undefined. */
  claim(): Promise<ClaimedJob | undefined> {
    const actor = this.actor()
    return claimJob(this.db, actor, actor.now + this.leaseMs)
  }

  /** Renews the lease and stores progress; tells the worker to stop when the run was cancelled or taken over. */
  heartbeat(jobId: string, update: HeartbeatUpdate = {}): Promise<HeartbeatOutcome> {
    const actor = this.actor()
    return heartbeatJob(this.db, jobId, actor, actor.now + this.leaseMs, update)
  }

  /**
   * Marks the job succeeded and writes its metrics, atomically and only while this worker holds the lease:
   * a cancelled or taken-over run reports nothing. Metric rows are upserted (one per test set × degradation).
   */
  complete(jobId: string, results: readonly RunMetric[], history: readonly RunEpoch[]): Promise<boolean> {
    return completeJob(this.db, jobId, this.actor(), results, history)
  }

  /**
   * Ends this attempt with a reason. A retryable failure with attempts left goes back to the queue after
   * an exponential backoff; otherwise the job fails for good. The reason is kept either way.
   */
  fail(jobId: string, reason: string, options: { retryable?: boolean } = {}): Promise<'retrying' | 'failed' | 'not_owner'> {
    return failJob(this.db, jobId, this.actor(), reason, {
      retryable: options.retryable,
      retryDelayMs: (attempt) => Math.min(MAX_BACKOFF_MS, this.backoffMs * 2 ** (attempt - 1)),
    })
  }

  /** Releases the lease of a job this worker stops for shutdown, so another runner can claim it at once. */
  release(jobId: string): Promise<void> {
    return releaseJob(this.db, jobId, this.actor())
  }
}
