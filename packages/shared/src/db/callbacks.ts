import { and, eq, lte, sql } from 'drizzle-orm'
import type { CallbackDeliveryStatus } from '../contracts/callbacks.ts'
import type { Db } from './index.ts'
import { callbackDeliveries } from './schema/callbacks.ts'

/** A `callback_deliveries` row. */
export type CallbackDeliveryRow = typeof callbackDeliveries.$inferSelect

export interface NewCallbackDelivery {
  jobId: string
  apiKeyId: string | null
  url: string
  /** The JSON text to send; fixed now, so every attempt carries the same bytes. */
  body: string
  now?: Date
}

/**
 * Queues a job's callback, due at once. A job has at most one: enqueueing again (an edge that finished the job
 * twice around a restart) returns the existing row untouched, so the receiver is never sent two different ids.
 */
export async function enqueueCallbackDelivery(db: Db, delivery: NewCallbackDelivery): Promise<CallbackDeliveryRow> {
  const now = delivery.now ?? new Date()
  await db
    .insert(callbackDeliveries)
    .values({
      id: `cbd_${crypto.randomUUID().replaceAll('-', '')}`,
      jobId: delivery.jobId,
      apiKeyId: delivery.apiKeyId,
      url: delivery.url,
      body: delivery.body,
      state: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
    })
    .onConflictDoNothing({ target: callbackDeliveries.jobId })
  return (await findCallbackDeliveryForJob(db, delivery.jobId)) as CallbackDeliveryRow
}

/** The callback row of a job, if it asked for one. */
export async function findCallbackDeliveryForJob(db: Db, jobId: string): Promise<CallbackDeliveryRow | undefined> {
  const [row] = await db.select().from(callbackDeliveries).where(eq(callbackDeliveries.jobId, jobId)).limit(1)
  return row
}

/**
 * Claims up to `limit` due pending deliveries for one attempt each: their attempt count goes up and their due time
 * moves `leaseMs` ahead, so another edge (or this one after a crash) takes them only once the lease has run out.
 */
export async function claimDueCallbackDeliveries(db: Db, options: { now: Date; leaseMs: number; limit: number }): Promise<CallbackDeliveryRow[]> {
  const due = await db
    .select({ id: callbackDeliveries.id, nextAttemptAt: callbackDeliveries.nextAttemptAt })
    .from(callbackDeliveries)
    .where(and(eq(callbackDeliveries.state, 'pending'), lte(callbackDeliveries.nextAttemptAt, options.now)))
    .orderBy(callbackDeliveries.nextAttemptAt)
    .limit(options.limit)
  const claimed: CallbackDeliveryRow[] = []
  for (const candidate of due) {
    // Compare-and-set on the due time: a concurrent claimer that got there first has moved it, and this one skips.
    const [row] = await db
      .update(callbackDeliveries)
      .set({ attempts: sql`${callbackDeliveries.attempts} + 1`, nextAttemptAt: new Date(options.now.getTime() + options.leaseMs) })
      .where(
        and(eq(callbackDeliveries.id, candidate.id), eq(callbackDeliveries.state, 'pending'), eq(callbackDeliveries.nextAttemptAt, candidate.nextAttemptAt)),
      )
      .returning()
    if (row) claimed.push(row)
  }
  return claimed
}

/** Records the outcome of an attempt: delivered, due again at `retryAt`, or failed for good (`retryAt` null). */
export async function recordCallbackAttempt(
  db: Db,
  id: string,
  outcome: { delivered: boolean; status: number | null; error: string | null; retryAt: Date | null; now: Date },
): Promise<void> {
  const state = outcome.delivered ? 'delivered' : outcome.retryAt ? 'pending' : 'failed'
  await db
    .update(callbackDeliveries)
    .set({
      state,
      lastStatus: outcome.status,
      lastError: outcome.error,
      ...(outcome.retryAt ? { nextAttemptAt: outcome.retryAt } : {}),
      ...(outcome.delivered ? { deliveredAt: outcome.now } : {}),
    })
    .where(eq(callbackDeliveries.id, id))
}

/** A row as `GET /v1/detect/jobs/{id}` shows it. */
export function callbackDeliveryStatus(row: CallbackDeliveryRow): CallbackDeliveryStatus {
  return {
    id: row.id,
    state: row.state,
    attempts: row.attempts,
    next_attempt_at: row.state === 'pending' ? row.nextAttemptAt.toISOString() : null,
    last_status: row.lastStatus,
    last_error: row.lastError,
    delivered_at: row.deliveredAt?.toISOString() ?? null,
  }
}
