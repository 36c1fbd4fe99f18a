import { and, asc, eq, gte, inArray, isNotNull, isNull, lte, or, type SQL, sql } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import type { DetectJobItemAnswer } from '../contracts/detect-jobs.ts'
import type { DetectionRow } from './detections.ts'
import type { Db } from './index.ts'
import { detections } from './schema/detect.ts'
import { detectJobItems, detectJobs } from './schema/detect-jobs.ts'

export type DetectJobRow = typeof detectJobs.$inferSelect
export type DetectJobItemRow = typeof detectJobItems.$inferSelect

/** An image of a new job: spooled bytes (with their facts) or a URL, or one already failed when it was accepted. */
export interface NewDetectJobItem {
  idx: number
  filename?: string
  url?: string
  sha256?: string
  bytes?: number
  width?: number
  height?: number
  /** Set when the image was refused at acceptance (e.g. not an image): the item is stored `failed`. */
  failure?: { code: string; message: string }
}

export interface NewDetectJob {
  id: string
  apiKeyId: string | null
  correlationId: string | null
  spoolId: string
  models: string[]
  callbackUrl: string | null
  createdAt: Date
}

/** Item rows per INSERT: 15 values each stays far below SQLite's bound-variable limit. */
const ITEMS_PER_INSERT = 200
const UNFINISHED = ['queued', 'running'] as const

/** Stores a job and all its items in one transaction: a job is there whole or not at all. */
export async function createDetectJob(db: Db, job: NewDetectJob, items: readonly NewDetectJobItem[]): Promise<void> {
  const failed = items.filter((item) => item.failure).length
  const rows = items.map((item) => ({
    jobId: job.id,
    idx: item.idx,
    state: item.failure ? ('failed' as const) : ('queued' as const),
    filename: item.filename ?? null,
    url: item.url ?? null,
    sha256: item.sha256 ?? null,
    bytes: item.bytes ?? null,
    width: item.width ?? null,
    height: item.height ?? null,
    errorCode: item.failure?.code ?? null,
    errorMessage: item.failure?.message ?? null,
    updatedAt: job.createdAt,
  }))
  const inserts: BatchItem<'sqlite'>[] = []
  for (let i = 0; i < rows.length; i += ITEMS_PER_INSERT) inserts.push(db.insert(detectJobItems).values(rows.slice(i, i + ITEMS_PER_INSERT)))
  await db.batch([
    db.insert(detectJobs).values({ ...job, state: 'queued', total: items.length, failed, updatedAt: job.createdAt }),
    ...(inserts as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]),
  ])
}

/** One job, or undefined. `owner`: undefined any key's, a key id only that key's, null only anonymous ones. */
export async function getDetectJob(db: Db, id: string, owner?: string | null): Promise<DetectJobRow | undefined> {
  const ownedBy = owner === undefined ? undefined : owner === null ? isNull(detectJobs.apiKeyId) : eq(detectJobs.apiKeyId, owner)
  const [row] = await db
    .select()
    .from(detectJobs)
    .where(and(eq(detectJobs.id, id), ownedBy))
    .limit(1)
  return row
}

/** Items of a job from position `fromIdx` on, in position order. */
export function readDetectJobItems(db: Db, jobId: string, fromIdx: number, limit: number): Promise<DetectJobItemRow[]> {
  return db
    .select()
    .from(detectJobItems)
    .where(and(eq(detectJobItems.jobId, jobId), gte(detectJobItems.idx, fromIdx)))
    .orderBy(asc(detectJobItems.idx))
    .limit(limit)
}

/** Every job of this spool, with the positions of its items still queued (what the spool must keep). */
export async function spooledDetectJobs(db: Db, spoolId: string): Promise<Map<string, { state: DetectJobRow['state']; queued: Set<number> }>> {
  const jobs = await db.select({ id: detectJobs.id, state: detectJobs.state }).from(detectJobs).where(eq(detectJobs.spoolId, spoolId))
  const queued = await db
    .select({ jobId: detectJobItems.jobId, idx: detectJobItems.idx })
    .from(detectJobItems)
    .innerJoin(detectJobs, eq(detectJobs.id, detectJobItems.jobId))
    .where(and(eq(detectJobs.spoolId, spoolId), eq(detectJobItems.state, 'queued')))
  const byJob = new Map(jobs.map((job) => [job.id, { state: job.state, queued: new Set<number>() }]))
  for (const item of queued) byJob.get(item.jobId)?.queued.add(item.idx)
  return byJob
}

/**
 * Up to `limit` queued items that are due, all of one job: the oldest unfinished job of this spool that has any.
 * Items waiting out a transient failure (`not_before` in the future) are left for later.
 */
export async function dueDetectJobItems(db: Db, spoolId: string, now: Date, limit: number): Promise<DetectJobItemRow[]> {
  const due = and(
    eq(detectJobs.spoolId, spoolId),
    inArray(detectJobs.state, [...UNFINISHED]),
    eq(detectJobItems.state, 'queued'),
    or(isNull(detectJobItems.notBefore), lte(detectJobItems.notBefore, now)),
  )
  const [first] = await db
    .select({ jobId: detectJobItems.jobId })
    .from(detectJobItems)
    .innerJoin(detectJobs, eq(detectJobs.id, detectJobItems.jobId))
    .where(due)
    .orderBy(asc(detectJobs.createdAt), asc(detectJobs.id))
    .limit(1)
  if (!first) return []
  return db
    .select()
    .from(detectJobItems)
    .where(
      and(eq(detectJobItems.jobId, first.jobId), eq(detectJobItems.state, 'queued'), or(isNull(detectJobItems.notBefore), lte(detectJobItems.notBefore, now))),
    )
    .orderBy(asc(detectJobItems.idx))
    .limit(limit)
}

/** When the next queued item of this spool falls due (the earliest `not_before`), or undefined when none waits. */
export async function nextDetectJobItemDue(db: Db, spoolId: string): Promise<Date | undefined> {
  const [row] = await db
    .select({ due: sql<number | null>`min(${detectJobItems.notBefore})` })
    .from(detectJobItems)
    .innerJoin(detectJobs, eq(detectJobs.id, detectJobItems.jobId))
    .where(and(eq(detectJobs.spoolId, spoolId), inArray(detectJobs.state, [...UNFINISHED]), eq(detectJobItems.state, 'queued')))
  return row?.due == null ? undefined : new Date(row.due)
}

/** How one item ended: scored (its answers, and the facts of bytes fetched from a URL) or failed with an error code. */
export type DetectJobItemOutcome =
  | { idx: number; state: 'done'; answers: DetectJobItemAnswer[]; sha256: string; bytes: number; width?: number; height?: number }
  | { idx: number; state: 'failed'; code: string; message: string }

/**
 * Records finished items in one transaction: their detections rows, their answers or errors, and the job's counters.
 * Only items still queued change, and the detections of an item go in with its `done`, so scoring an item again
 * after a crash never records it twice.
 */
export async function recordDetectJobItems(
  db: Db,
  jobId: string,
  outcomes: readonly DetectJobItemOutcome[],
  rows: readonly DetectionRow[],
  runnerMs: number,
  now: Date,
): Promise<void> {
  if (outcomes.length === 0) return
  const updates = outcomes.map((outcome) =>
    db
      .update(detectJobItems)
      .set(
        outcome.state === 'done'
          ? {
              state: 'done',
              answers: outcome.answers,
              sha256: outcome.sha256,
              bytes: outcome.bytes,
              width: outcome.width ?? null,
              height: outcome.height ?? null,
              updatedAt: now,
            }
          : { state: 'failed', errorCode: outcome.code, errorMessage: outcome.message, updatedAt: now },
      )
      .where(and(eq(detectJobItems.jobId, jobId), eq(detectJobItems.idx, outcome.idx), eq(detectJobItems.state, 'queued'))),
  )
  const inserts: BatchItem<'sqlite'>[] = []
  for (let i = 0; i < rows.length; i += ITEMS_PER_INSERT) {
    inserts.push(
      db
        .insert(detections)
        .values(rows.slice(i, i + ITEMS_PER_INSERT))
        .onConflictDoNothing(),
    )
  }
  const statements: BatchItem<'sqlite'>[] = [...inserts, ...updates]
  await db.batch([
    ...(statements as [BatchItem<'sqlite'>]),
    db
      .update(detectJobs)
      .set({
        state: sql`case when ${detectJobs.state} = 'queued' then 'running' else ${detectJobs.state} end`,
        scored: countItems(jobId, 'done'),
        failed: countItems(jobId, 'failed'),
        runnerMs: sql`${detectJobs.runnerMs} + ${runnerMs}`,
        updatedAt: now,
      })
      .where(eq(detectJobs.id, jobId)),
  ])
}

const countItems = (jobId: string, state: 'done' | 'failed'): SQL =>
  sql`(select count(*) from ${detectJobItems} where ${detectJobItems.jobId} = ${jobId} and ${detectJobItems.state} = ${state})`

/** Puts items back after a transient failure (runner busy or down): one more attempt counted, due again at `notBefore`. */
export async function postponeDetectJobItems(db: Db, jobId: string, idxs: readonly number[], notBefore: Date, now: Date): Promise<void> {
  if (idxs.length === 0) return
  await db
    .update(detectJobItems)
    .set({ attempts: sql`${detectJobItems.attempts} + 1`, notBefore, updatedAt: now })
    .where(and(eq(detectJobItems.jobId, jobId), inArray(detectJobItems.idx, [...idxs]), eq(detectJobItems.state, 'queued')))
}

/**
 * Ends a job whose items are all finished: `done` when at least one image was scored, else `failed` with the first
 * item's error. Answers the job as it ended, or undefined when it still has queued items or had already ended.
 */
export async function finishDetectJob(db: Db, jobId: string, now: Date): Promise<DetectJobRow | undefined> {
  const [firstFailure] = await db
    .select({ code: detectJobItems.errorCode, message: detectJobItems.errorMessage })
    .from(detectJobItems)
    .where(and(eq(detectJobItems.jobId, jobId), eq(detectJobItems.state, 'failed')))
    .orderBy(asc(detectJobItems.idx))
    .limit(1)
  const [ended] = await db
    .update(detectJobs)
    .set({
      state: sql`case when ${detectJobs.scored} > 0 then 'done' else 'failed' end`,
      errorCode: sql`case when ${detectJobs.scored} > 0 then null else ${firstFailure?.code ?? 'internal_error'} end`,
      errorMessage: sql`case when ${detectJobs.scored} > 0 then null else ${firstFailure?.message ?? 'no image could be scored'} end`,
      finishedAt: now,
      updatedAt: now,
    })
    .where(
      and(
        eq(detectJobs.id, jobId),
        inArray(detectJobs.state, [...UNFINISHED]),
        sql`not exists (select 1 from ${detectJobItems} where ${detectJobItems.jobId} = ${jobId} and ${detectJobItems.state} = 'queued')`,
      ),
    )
    .returning()
  return ended
}

/** Unfinished jobs of this spool with no queued item left (a crash came between the last item and the job's end). */
export async function detectJobsToFinish(db: Db, spoolId: string): Promise<string[]> {
  const rows = await db
    .select({ id: detectJobs.id })
    .from(detectJobs)
    .where(
      and(
        eq(detectJobs.spoolId, spoolId),
        inArray(detectJobs.state, [...UNFINISHED]),
        sql`not exists (select 1 from ${detectJobItems} where ${detectJobItems.jobId} = ${detectJobs.id} and ${detectJobItems.state} = 'queued')`,
      ),
    )
  return rows.map((row) => row.id)
}

/** Ended jobs of this spool with a callback URL whose delivery is not enqueued yet. */
export function detectJobsAwaitingCallback(db: Db, spoolId: string): Promise<DetectJobRow[]> {
  return db
    .select()
    .from(detectJobs)
    .where(
      and(
        eq(detectJobs.spoolId, spoolId),
        inArray(detectJobs.state, ['done', 'failed']),
        isNotNull(detectJobs.callbackUrl),
        eq(detectJobs.callbackEnqueued, false),
      ),
    )
}

export async function markDetectJobCallbackEnqueued(db: Db, jobId: string): Promise<void> {
  await db.update(detectJobs).set({ callbackEnqueued: true }).where(eq(detectJobs.id, jobId))
}

/** The opaque `next_cursor` of a job's page: the position of its next image, as base64url. */
export function encodeDetectJobCursor(idx: number): string {
  return btoa(`item:${idx}`).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** The position a job cursor names, or undefined when the text is not one this API made. */
export function decodeDetectJobCursor(text: string): number | undefined {
  let decoded: string
  try {
    decoded = atob(text.replaceAll('-', '+').replaceAll('_', '/'))
  } catch {
    return undefined
  }
  const match = /^item:(\d{1,7})$/.exec(decoded)
  if (!match || encodeDetectJobCursor(Number(match[1])) !== text) return undefined
  return Number(match[1])
}
