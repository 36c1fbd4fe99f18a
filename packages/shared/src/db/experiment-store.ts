import { and, desc, eq, exists, inArray, isNotNull, isNull, or, type SQL, sql } from 'drizzle-orm'
import {
  type CancelExperimentResponse,
  type CreateExperimentResponse,
  type ExperimentDetail,
  type ExperimentProgressEvent,
  type ExperimentRun,
  ExperimentSpec,
  type ExperimentSummary,
  type RunCounts,
  type RunEpoch,
  type RunMetric,
  RunProgress,
  type RunState,
} from '../contracts/experiments.ts'
import type { PlannedRun } from '../genimage/protocols.ts'
import { deriveExperimentState, QUEUED_PROGRESS, UNFINISHED_RUN_STATES } from './experiment-state.ts'
import { experiments, jobs, metrics } from './schema/experiments.ts'
import type { Db } from './index.ts'

type JobRow = typeof jobs.$inferSelect
type ExperimentRow = typeof experiments.$inferSelect

function countStates(states: readonly string[]): RunCounts {
  const counts: RunCounts = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 }
  for (const s of states) if (s in counts) counts[s as RunState]++
  return counts
}

const iso = (d: Date | null) => (d ? d.toISOString() : null)

/**
 * Whose experiments a query may touch: `undefined` every one (an `admin` key, or the runners), a key id only that
 * key's, `null` only those submitted without a key.
 */
export type ExperimentOwner = string | null | undefined

const ownedBy = (owner: ExperimentOwner): SQL | undefined =>
  owner === undefined ? undefined : owner === null ? isNull(experiments.ownerKeyId) : eq(experiments.ownerKeyId, owner)

/** Jobs per INSERT: 16 values a row stays far below SQLite's bound-variable limit and drizzle's recursion depth. */
const JOBS_PER_INSERT = 200

/**
 * A path in a failure reason (`/root/x`, `../../etc`, `C:\\data`) as a runner of an older version may have written
 * it: starting a word, running to the next space, quote, bracket or comma (`NaN/Inf` is not one).
 */
const HOST_PATH = /(?<=^|[\s'"`(=,:])(?:\.\.?[\\/]|[A-Za-z]:[\\/]|[\\/])[^\s'"`(),;]*/g

/** A failure reason as the API shows it: a path on a runner is the runner's business (it stays in the runner's log). */
export function publicFailureReason(reason: string | null): string | null {
  return reason === null ? null : reason.replace(HOST_PATH, '<path>')
}

function summary(row: ExperimentRow, states: readonly string[]): ExperimentSummary {
  const spec = ExperimentSpec.parse(row.spec)
  const runs = countStates(states)
  return {
    id: row.id,
    name: row.name,
    protocol: spec.protocol,
    state: deriveExperimentState(row.cancelledAt !== null, runs),
    models: spec.models,
    dataRoot: spec.dataRoot,
    runs,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

function progressOf(job: JobRow): RunProgress {
  const parsed = RunProgress.safeParse(job.progress)
  return parsed.success ? parsed.data : QUEUED_PROGRESS
}

function metricOf(row: typeof metrics.$inferSelect): RunMetric {
  return {
    testSet: row.testSet,
    degradation: row.degradation,
    accuracy: row.accuracy,
    realAccuracy: row.realAccuracy,
    fakeAccuracy: row.fakeAccuracy,
    averagePrecision: row.averagePrecision,
    rocAuc: row.rocAuc,
    count: row.count,
    realCount: row.realCount,
    fakeCount: row.fakeCount,
    accuracyCi: row.accuracyCiLow === null || row.accuracyCiHigh === null ? null : [row.accuracyCiLow, row.accuracyCiHigh],
  }
}

/**
 * Stores a validated spec and its planned runs: one experiment row and one queued job per run, in one
 * transaction. Returns the new experiment's id.
 */
export async function createExperiment(
  db: Db,
  spec: ExperimentSpec,
  runs: readonly PlannedRun[],
  now = new Date(),
  ownerKeyId: string | null = null,
): Promise<string> {
  const id = `exp_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`
  const experimentRow = { id, name: spec.name ?? null, protocol: spec.protocol, spec, ownerKeyId, createdAt: now, updatedAt: now }
  const jobRows = runs.map((run) => ({
    id: `${id}_run${String(run.index).padStart(3, '0')}`,
    experimentId: id,
    runIndex: run.index,
    model: run.model,
    trainOn: run.trainOn,
    testOn: run.testOn,
    degradations: run.degradations,
    seed: run.seed,
    state: 'queued',
    attempts: 0,
    maxAttempts: spec.maxAttempts,
    availableAt: now,
    progress: { ...QUEUED_PROGRESS, epochs: spec.epochs },
    createdAt: now,
    updatedAt: now,
  }))
  const jobInserts = []
  for (let start = 0; start < jobRows.length; start += JOBS_PER_INSERT) jobInserts.push(db.insert(jobs).values(jobRows.slice(start, start + JOBS_PER_INSERT)))
  await db.batch([db.insert(experiments).values(experimentRow), ...jobInserts])
  return id
}

/** What `POST /v1/experiments` answers: the summary, the spec and the number of runs, never every run. */
export async function createdExperiment(db: Db, id: string): Promise<CreateExperimentResponse | undefined> {
  const [row] = await db.select().from(experiments).where(eq(experiments.id, id))
  if (!row) return undefined
  const states = await db.select({ state: jobs.state }).from(jobs).where(eq(jobs.experimentId, id))
  return {
    ...summary(
      row,
      states.map((s) => s.state),
    ),
    spec: ExperimentSpec.parse(row.spec),
    totalRuns: states.length,
  }
}

/** Newest first, with run counts per state; only `owner`'s when given. */
export async function listExperiments(db: Db, limit = 50, owner?: ExperimentOwner): Promise<ExperimentSummary[]> {
  const rows = await db.select().from(experiments).where(ownedBy(owner)).orderBy(desc(experiments.createdAt)).limit(limit)
  if (rows.length === 0) return []
  const states = await db
    .select({ experimentId: jobs.experimentId, state: jobs.state })
    .from(jobs)
    .where(
      inArray(
        jobs.experimentId,
        rows.map((r) => r.id),
      ),
    )
  return rows.map((row) =>
    summary(
      row,
      states.filter((s) => s.experimentId === row.id).map((s) => s.state),
    ),
  )
}

/** The spec, every run with progress, training history and metrics; undefined for an unknown id (or not `owner`'s). */
export async function getExperiment(db: Db, id: string, owner?: ExperimentOwner): Promise<ExperimentDetail | undefined> {
  const [row] = await db
    .select()
    .from(experiments)
    .where(and(eq(experiments.id, id), ownedBy(owner)))
  if (!row) return undefined
  const jobRows = await db.select().from(jobs).where(eq(jobs.experimentId, id)).orderBy(jobs.runIndex)
  const metricRows = await db.select().from(metrics).where(eq(metrics.experimentId, id)).orderBy(metrics.testSet, metrics.degradation)
  const runDetails: ExperimentRun[] = jobRows.map((job) => ({
    id: job.id,
    index: job.runIndex,
    model: job.model,
    trainOn: job.trainOn,
    testOn: job.testOn,
    degradations: job.degradations,
    seed: job.seed,
    state: job.state as RunState,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    failureReason: publicFailureReason(job.failureReason),
    worker: job.leaseOwner,
    artifactDir: job.artifactDir,
    progress: progressOf(job),
    history: Array.isArray(job.history) ? (job.history as RunEpoch[]) : [],
    metrics: metricRows.filter((m) => m.jobId === job.id).map(metricOf),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
  }))
  return {
    ...summary(
      row,
      jobRows.map((j) => j.state),
    ),
    spec: ExperimentSpec.parse(row.spec),
    runDetails,
  }
}

/**
 * Cancels an experiment that has not ended: records the cancel and marks every queued or running job cancelled. A
 * runner holding one notices at its next heartbeat and stops; its results are never written. Cancelling a cancelled
 * experiment changes nothing; one that succeeded or failed is left as it is, and the answer says that state (with
 * `cancelledRuns: 0`). Undefined for an unknown id, or one that is not `owner`'s.
 */
export async function cancelExperiment(
  db: Db,
  id: string,
  options: { now?: Date; owner?: ExperimentOwner } = {},
): Promise<CancelExperimentResponse | undefined> {
  const now = options.now ?? new Date()
  const [row] = await db
    .select({ id: experiments.id })
    .from(experiments)
    .where(and(eq(experiments.id, id), ownedBy(options.owner)))
  if (!row) return undefined
  const unfinishedJob = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.experimentId, id), inArray(jobs.state, [...UNFINISHED_RUN_STATES])))
  // One conditional UPDATE: a run that ends between a read and this write cannot turn a finished experiment into a cancelled one.
  const [marked, cancelled] = await db.batch([
    db
      .update(experiments)
      .set({ cancelledAt: sql`coalesce(${experiments.cancelledAt}, ${now.getTime()})`, updatedAt: now })
      .where(and(eq(experiments.id, id), or(isNotNull(experiments.cancelledAt), exists(unfinishedJob))))
      .returning({ id: experiments.id }),
    db
      .update(jobs)
      .set({ state: 'cancelled', finishedAt: now, updatedAt: now, failureReason: 'cancelled by request' })
      .where(and(eq(jobs.experimentId, id), inArray(jobs.state, [...UNFINISHED_RUN_STATES])))
      .returning({ id: jobs.id }),
  ])
  if (marked.length > 0) return { id, state: 'cancelled', cancelledRuns: cancelled.length }
  const states = await db.select({ state: jobs.state }).from(jobs).where(eq(jobs.experimentId, id))
  const state = deriveExperimentState(false, countStates(states.map((s) => s.state)))
  return { id, state: state === 'failed' || state === 'succeeded' ? state : 'cancelled', cancelledRuns: 0 }
}

/** Who submitted an experiment (null: anonymous); undefined for an unknown id. */
export async function experimentOwner(db: Db, id: string): Promise<{ ownerKeyId: string | null } | undefined> {
  const [row] = await db.select({ ownerKeyId: experiments.ownerKeyId }).from(experiments).where(eq(experiments.id, id))
  return row
}

/** A compact view for progress streams, and a token that changes whenever anything in it does. */
export async function experimentProgress(db: Db, id: string): Promise<{ event: ExperimentProgressEvent; version: string } | undefined> {
  const [row] = await db.select().from(experiments).where(eq(experiments.id, id))
  if (!row) return undefined
  const jobRows = await db.select().from(jobs).where(eq(jobs.experimentId, id)).orderBy(jobs.runIndex)
  const counts = await db.select({ jobId: metrics.jobId, n: sql<number>`count(*)` }).from(metrics).where(eq(metrics.experimentId, id)).groupBy(metrics.jobId)
  const event: ExperimentProgressEvent = {
    id,
    state: deriveExperimentState(row.cancelledAt !== null, countStates(jobRows.map((j) => j.state))),
    runs: jobRows.map((job) => ({
      id: job.id,
      index: job.runIndex,
      model: job.model,
      trainOn: job.trainOn,
      seed: job.seed,
      state: job.state as RunState,
      attempts: job.attempts,
      failureReason: publicFailureReason(job.failureReason),
      progress: progressOf(job),
      metrics: Number(counts.find((c) => c.jobId === job.id)?.n ?? 0),
    })),
  }
  const version = [row.updatedAt.getTime(), row.cancelledAt?.getTime() ?? 0, ...jobRows.map((j) => `${j.state}:${j.updatedAt.getTime()}`)].join('|')
  return { event, version }
}
