import { and, eq, inArray, sql } from 'drizzle-orm'
import { type ExperimentSpec, ExperimentSpec as ExperimentSpecSchema, type RunEpoch, type RunMetric, type RunProgress } from '@genimage/shared'
import { type Db, experiments, jobs, metrics } from '@genimage/shared/db'

/** A job a worker holds the lease of, with its experiment's spec. */
export interface ClaimedJob {
  id: string
  experimentId: string
  runIndex: number
  model: string
  trainOn: string[]
  testOn: string[]
  degradations: string[]
  seed: number
  attempt: number
  maxAttempts: number
  /** Why the previous attempt ended, when this is a retry (e.g. an expired lease). */
  previousFailure: string | null
  spec: ExperimentSpec
}

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

/** What a heartbeat found: keep going, or stop because the run was cancelled or the lease was lost. */
export type HeartbeatOutcome = 'ok' | 'cancelled' | 'lease_lost'

const MAX_BACKOFF_MS = 10 * 60_000

/**
 * The libSQL job queue as a runner sees it: claim with a lease, heartbeat, complete with metrics, fail with
 * bounded, backed-off retries. Every transition is one conditional statement (or one transaction), so two
 * runners on the same database never both own a job.
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

  /** Takes the oldest claimable job — queued and due, or running with an expired lease — or returns undefined. */
  async claim(): Promise<ClaimedJob | undefined> {
    const now = this.clock()
    await this.db.$client.execute({
      sql: `UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL, finished_at = ?1, updated_at = ?1,
              failure_reason = 'attempt ' || attempts || ' of ' || max_attempts || ': lease of ' || coalesce(lease_owner, '?') || ' expired (runner lost); no attempts left'
            WHERE state = 'running' AND lease_expires_at <= ?1 AND attempts >= max_attempts`,
      args: [now],
    })
    const claimed = await this.db.$client.execute({
      sql: `UPDATE jobs SET
              failure_reason = CASE WHEN state = 'running' THEN 'attempt ' || attempts || ': lease of ' || coalesce(lease_owner, '?') || ' expired (runner lost)' ELSE failure_reason END,
              state = 'running', lease_owner = ?1, lease_expires_at = ?2, heartbeat_at = ?3, attempts = attempts + 1,
              started_at = coalesce(started_at, ?3), updated_at = ?3
            WHERE id = (
              SELECT j.id FROM jobs j JOIN experiments e ON e.id = j.experiment_id
              WHERE e.cancelled_at IS NULL
                AND ((j.state = 'queued' AND j.available_at <= ?3) OR (j.state = 'running' AND j.lease_expires_at <= ?3 AND j.attempts < j.max_attempts))
              ORDER BY j.created_at, j.run_index LIMIT 1)
            RETURNING id`,
      args: [this.worker, now + this.leaseMs, now],
    })
    const id = claimed.rows[0]?.id as string | undefined
    if (!id) return undefined
    const [row] = await this.db
      .select({ job: jobs, spec: experiments.spec })
      .from(jobs)
      .innerJoin(experiments, eq(experiments.id, jobs.experimentId))
      .where(eq(jobs.id, id))
    if (!row) return undefined
    const { job } = row
    return {
      id: job.id,
      experimentId: job.experimentId,
      runIndex: job.runIndex,
      model: job.model,
      trainOn: job.trainOn,
      testOn: job.testOn,
      degradations: job.degradations,
      seed: job.seed,
      attempt: job.attempts,
      maxAttempts: job.maxAttempts,
      previousFailure: job.failureReason,
      spec: ExperimentSpecSchema.parse(row.spec),
    }
  }

  /** Renews the lease and stores progress; tells the worker to stop when the run was cancelled or taken over. */
  async heartbeat(jobId: string, update: { progress?: RunProgress; history?: RunEpoch[]; artifactDir?: string } = {}): Promise<HeartbeatOutcome> {
    const now = this.clock()
    const renewed = await this.db
      .update(jobs)
      .set({
        leaseExpiresAt: new Date(now + this.leaseMs),
        heartbeatAt: new Date(now),
        updatedAt: new Date(now),
        ...(update.progress ? { progress: update.progress } : {}),
        ...(update.history ? { history: update.history } : {}),
        ...(update.artifactDir ? { artifactDir: update.artifactDir } : {}),
      })
      .where(and(eq(jobs.id, jobId), eq(jobs.state, 'running'), eq(jobs.leaseOwner, this.worker)))
      .returning({ id: jobs.id })
    if (renewed.length > 0) return 'ok'
    const [current] = await this.db.select({ state: jobs.state }).from(jobs).where(eq(jobs.id, jobId))
    return current?.state === 'cancelled' ? 'cancelled' : 'lease_lost'
  }

  /**
   * Marks the job succeeded and writes its metrics, atomically and only while this worker holds the lease:
   * a cancelled or taken-over run reports nothing. Metric rows are upserted (one per test set × degradation).
   */
  async complete(jobId: string, results: readonly RunMetric[], history: readonly RunEpoch[]): Promise<boolean> {
    const now = this.clock()
    return this.db
      .transaction(
        async (tx) => {
          const done = await tx
            .update(jobs)
            .set({
              state: 'succeeded',
              leaseOwner: null,
              leaseExpiresAt: null,
              finishedAt: new Date(now),
              updatedAt: new Date(now),
              history: [...history],
              progress: sql`json_set(coalesce(${jobs.progress}, '{}'), '$.phase', 'done')`,
            })
            .where(and(eq(jobs.id, jobId), eq(jobs.state, 'running'), eq(jobs.leaseOwner, this.worker)))
            .returning({ experimentId: jobs.experimentId })
          const experimentId = done[0]?.experimentId
          if (!experimentId) {
            tx.rollback()
            return false
          }
          await writeMetrics(tx as unknown as Db, jobId, experimentId, results, now)
          await tx
            .update(experiments)
            .set({ updatedAt: new Date(now) })
            .where(eq(experiments.id, experimentId))
          return true
        },
        { behavior: 'immediate' },
      )
      .catch((error: unknown) => {
        if (error instanceof Error && error.message.includes('Rollback')) return false
        throw error
      })
  }

  /**
   * Ends this attempt with a reason. A retryable failure with attempts left goes back to the queue after
   * an exponential backoff; otherwise the job fails for good. The reason is kept either way.
   */
  async fail(jobId: string, reason: string, options: { retryable?: boolean } = {}): Promise<'retrying' | 'failed' | 'not_owner'> {
    const now = this.clock()
    const [job] = await this.db
      .select({ attempts: jobs.attempts, maxAttempts: jobs.maxAttempts })
      .from(jobs)
      .where(and(eq(jobs.id, jobId), eq(jobs.state, 'running'), eq(jobs.leaseOwner, this.worker)))
    if (!job) return 'not_owner'
    const retry = (options.retryable ?? true) && job.attempts < job.maxAttempts
    const delay = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2 ** (job.attempts - 1))
    const failureReason = `attempt ${job.attempts} of ${job.maxAttempts}: ${reason}`.slice(0, 4000)
    const updated = await this.db
      .update(jobs)
      .set(
        retry
          ? { state: 'queued', availableAt: new Date(now + delay), leaseOwner: null, leaseExpiresAt: null, failureReason, updatedAt: new Date(now) }
          : { state: 'failed', leaseOwner: null, leaseExpiresAt: null, failureReason, finishedAt: new Date(now), updatedAt: new Date(now) },
      )
      .where(and(eq(jobs.id, jobId), eq(jobs.state, 'running'), eq(jobs.leaseOwner, this.worker)))
      .returning({ id: jobs.id })
    if (updated.length === 0) return 'not_owner'
    return retry ? 'retrying' : 'failed'
  }

  /** Releases the lease of a job this worker stops for shutdown, so another runner can claim it at once. */
  async release(jobId: string): Promise<void> {
    const now = this.clock()
    await this.db
      .update(jobs)
      .set({
        state: 'queued',
        leaseOwner: null,
        leaseExpiresAt: null,
        availableAt: new Date(now),
        updatedAt: new Date(now),
        attempts: sql`max(0, ${jobs.attempts} - 1)`,
      })
      .where(and(eq(jobs.id, jobId), eq(jobs.state, 'running'), eq(jobs.leaseOwner, this.worker)))
  }
}

/** Upserts metric rows: rerunning the same cell replaces its row instead of adding one. */
export async function writeMetrics(db: Db, jobId: string, experimentId: string, results: readonly RunMetric[], now = Date.now()): Promise<void> {
  for (const m of results) {
    const values = {
      accuracy: m.accuracy,
      realAccuracy: m.realAccuracy,
      fakeAccuracy: m.fakeAccuracy,
      averagePrecision: m.averagePrecision,
      rocAuc: m.rocAuc,
      count: m.count,
      realCount: m.realCount,
      fakeCount: m.fakeCount,
      accuracyCiLow: m.accuracyCi?.[0] ?? null,
      accuracyCiHigh: m.accuracyCi?.[1] ?? null,
      createdAt: new Date(now),
    }
    await db
      .insert(metrics)
      .values({ jobId, experimentId, testSet: m.testSet, degradation: m.degradation, ...values })
      .onConflictDoUpdate({ target: [metrics.jobId, metrics.testSet, metrics.degradation], set: values })
  }
}

/** Job ids of an experiment in a given state (for tests and tools). */
export async function jobIdsInState(db: Db, experimentId: string, states: string[]): Promise<string[]> {
  const rows = await db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.experimentId, experimentId), inArray(jobs.state, states)))
  return rows.map((r) => r.id)
}
