import { and, eq, gte, isNull, lt, lte, or, sql, TransactionRollbackError } from 'drizzle-orm'
import { type AnySQLiteColumn, alias } from 'drizzle-orm/sqlite-core'
import { ExperimentSpec, type RunEpoch, type RunMetric, type RunProgress } from '../contracts/experiments.ts'
import type { Db } from './index.ts'
import { experiments, jobs, metrics } from './schema/experiments.ts'

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

/** Who acts on a job and when: the identity written into the lease, and the clock reading in ms since epoch. */
export interface JobActor {
  worker: string
  now: number
}

/** What a heartbeat found: keep going, or stop because the run was cancelled or the lease was lost. */
export type HeartbeatOutcome = 'ok' | 'cancelled' | 'lease_lost'

/** What a worker may store with a heartbeat. */
export interface HeartbeatUpdate {
  progress?: RunProgress
  history?: RunEpoch[]
  artifactDir?: string
}

/** A database handle or an open transaction on it. */
type DbOrTransaction = Pick<Db, 'insert'>

/** The job is running and this worker holds its lease. */
const heldBy = (jobId: string, worker: string) => and(eq(jobs.id, jobId), eq(jobs.state, 'running'), eq(jobs.leaseOwner, worker))

/** A running job (of `jobs` or an alias of it) whose lease ran out at `now`. */
const leaseExpired = (job: { state: AnySQLiteColumn; leaseExpiresAt: AnySQLiteColumn }, now: number) =>
  and(eq(job.state, 'running'), lte(job.leaseExpiresAt, new Date(now)))

/** Jobs whose holder vanished on their last attempt fail for good, with the reason, instead of looping. */
async function failExhaustedLeases(db: Db, now: number): Promise<void> {
  await db
    .update(jobs)
    .set({
      state: 'failed',
      leaseOwner: null,
      leaseExpiresAt: null,
      finishedAt: new Date(now),
      updatedAt: new Date(now),
      failureReason: sql`'attempt ' || ${jobs.attempts} || ' of ' || ${jobs.maxAttempts} || ': lease of ' || coalesce(${jobs.leaseOwner}, '?')
        || ' expired (runner lost); no attempts left'`,
    })
    .where(and(leaseExpired(jobs, now), gte(jobs.attempts, jobs.maxAttempts)))
}

/**
 * Takes the oldest claimable job — queued and due, or running with an expired lease and attempts left — of an
 * experiment that is not cancelled, leasing it to `actor.worker` until `leaseUntil`. One conditional UPDATE, so
 * two workers on the same database never both get a job. Returns undefined when nothing is claimable.
 */
export async function claimJob(db: Db, actor: JobActor, leaseUntil: number): Promise<ClaimedJob | undefined> {
  const { worker, now } = actor
  await failExhaustedLeases(db, now)
  const candidate = alias(jobs, 'candidate')
  const oldestClaimable = db
    .select({ id: candidate.id })
    .from(candidate)
    .innerJoin(experiments, eq(experiments.id, candidate.experimentId))
    .where(
      and(
        isNull(experiments.cancelledAt),
        or(
          and(eq(candidate.state, 'queued'), lte(candidate.availableAt, new Date(now))),
          and(leaseExpired(candidate, now), lt(candidate.attempts, candidate.maxAttempts)),
        ),
      ),
    )
    .orderBy(candidate.createdAt, candidate.runIndex)
    .limit(1)
  const [claimed] = await db
    .update(jobs)
    .set({
      failureReason: sql`case when ${jobs.state} = 'running'
        then 'attempt ' || ${jobs.attempts} || ': lease of ' || coalesce(${jobs.leaseOwner}, '?') || ' expired (runner lost)'
        else ${jobs.failureReason} end`,
      state: 'running',
      leaseOwner: worker,
      leaseExpiresAt: new Date(leaseUntil),
      heartbeatAt: new Date(now),
      attempts: sql`${jobs.attempts} + 1`,
      startedAt: sql`coalesce(${jobs.startedAt}, ${now})`,
      updatedAt: new Date(now),
    })
    .where(eq(jobs.id, oldestClaimable))
    .returning()
  if (!claimed) return undefined
  const [experiment] = await db.select({ spec: experiments.spec }).from(experiments).where(eq(experiments.id, claimed.experimentId))
  if (!experiment) return undefined
  return {
    id: claimed.id,
    experimentId: claimed.experimentId,
    runIndex: claimed.runIndex,
    model: claimed.model,
    trainOn: claimed.trainOn,
    testOn: claimed.testOn,
    degradations: claimed.degradations,
    seed: claimed.seed,
    attempt: claimed.attempts,
    maxAttempts: claimed.maxAttempts,
    previousFailure: claimed.failureReason,
    spec: ExperimentSpec.parse(experiment.spec),
  }
}

/** Renews the lease until `leaseUntil` and stores progress; says 'cancelled' or 'lease_lost' when the worker must stop. */
export async function heartbeatJob(db: Db, jobId: string, actor: JobActor, leaseUntil: number, update: HeartbeatUpdate = {}): Promise<HeartbeatOutcome> {
  const renewed = await db
    .update(jobs)
    .set({
      leaseExpiresAt: new Date(leaseUntil),
      heartbeatAt: new Date(actor.now),
      updatedAt: new Date(actor.now),
      ...(update.progress ? { progress: update.progress } : {}),
      ...(update.history ? { history: update.history } : {}),
      ...(update.artifactDir ? { artifactDir: update.artifactDir } : {}),
    })
    .where(heldBy(jobId, actor.worker))
    .returning({ id: jobs.id })
  if (renewed.length > 0) return 'ok'
  const [current] = await db.select({ state: jobs.state }).from(jobs).where(eq(jobs.id, jobId))
  return current?.state === 'cancelled' ? 'cancelled' : 'lease_lost'
}

/**
 * Marks the job succeeded and writes its metrics in one transaction, only while `actor.worker` holds the lease:
 * a cancelled or taken-over run reports nothing. Returns whether the results were stored.
 */
export async function completeJob(db: Db, jobId: string, actor: JobActor, results: readonly RunMetric[], history: readonly RunEpoch[]): Promise<boolean> {
  const at = new Date(actor.now)
  try {
    return await db.transaction(
      async (tx) => {
        const [done] = await tx
          .update(jobs)
          .set({
            state: 'succeeded',
            leaseOwner: null,
            leaseExpiresAt: null,
            finishedAt: at,
            updatedAt: at,
            history: [...history],
            progress: sql`json_set(coalesce(${jobs.progress}, '{}'), '$.phase', 'done')`,
          })
          .where(heldBy(jobId, actor.worker))
          .returning({ experimentId: jobs.experimentId })
        if (!done) return tx.rollback()
        await writeMetrics(tx, jobId, done.experimentId, results, actor.now)
        await tx.update(experiments).set({ updatedAt: at }).where(eq(experiments.id, done.experimentId))
        return true
      },
      { behavior: 'immediate' },
    )
  } catch (error) {
    if (error instanceof TransactionRollbackError) return false
    throw error
  }
}

export interface FailJobOptions {
  /** False ends the job at once; otherwise it is retried while attempts are left (default true). */
  retryable?: boolean
  /** How long to hold back the retry after the given attempt (1-based). */
  retryDelayMs: (attempt: number) => number
}

/**
 * Ends the attempt `actor.worker` holds with a reason, kept either way. A retryable failure with attempts left
 * goes back to the queue after `retryDelayMs(attempt)`; otherwise the job fails for good.
 */
export async function failJob(db: Db, jobId: string, actor: JobActor, reason: string, options: FailJobOptions): Promise<'retrying' | 'failed' | 'not_owner'> {
  const [job] = await db.select({ attempts: jobs.attempts, maxAttempts: jobs.maxAttempts }).from(jobs).where(heldBy(jobId, actor.worker))
  if (!job) return 'not_owner'
  const at = new Date(actor.now)
  const retry = (options.retryable ?? true) && job.attempts < job.maxAttempts
  const failureReason = `attempt ${job.attempts} of ${job.maxAttempts}: ${reason}`.slice(0, 4000)
  const released = { leaseOwner: null, leaseExpiresAt: null, failureReason, updatedAt: at }
  const updated = await db
    .update(jobs)
    .set(
      retry
        ? { ...released, state: 'queued', availableAt: new Date(actor.now + options.retryDelayMs(job.attempts)) }
        : { ...released, state: 'failed', finishedAt: at },
    )
    .where(heldBy(jobId, actor.worker))
    .returning({ id: jobs.id })
  if (updated.length === 0) return 'not_owner'
  return retry ? 'retrying' : 'failed'
}

/** Gives back a job `actor.worker` stops for shutdown: queued again at once, the attempt not counted. */
export async function releaseJob(db: Db, jobId: string, actor: JobActor): Promise<void> {
  const at = new Date(actor.now)
  await db
    .update(jobs)
    .set({ state: 'queued', leaseOwner: null, leaseExpiresAt: null, availableAt: at, updatedAt: at, attempts: sql`max(0, ${jobs.attempts} - 1)` })
    .where(heldBy(jobId, actor.worker))
}

/** Upserts metric rows, one per run × test set × degradation: rerunning a cell replaces its row. */
export async function writeMetrics(db: DbOrTransaction, jobId: string, experimentId: string, results: readonly RunMetric[], now = Date.now()): Promise<void> {
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
