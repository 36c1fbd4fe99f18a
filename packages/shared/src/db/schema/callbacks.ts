import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

/**
 * Signed result callbacks of async detect jobs, one row per job: the edge POSTs `body` to `url` until the receiver
 * answers 2xx, with exponential backoff between attempts. Every attempt's state is here, so an edge restart
 * resumes the deliveries that were due; the row's id travels as `Genimage-Delivery`, the receiver's idempotency key.
 */
export const callbackDeliveries = sqliteTable(
  'callback_deliveries',
  {
    /** `cbd_…`; sent in every attempt's `Genimage-Delivery` header, so a receiver can drop duplicates. */
    id: text('id').primaryKey(),
    jobId: text('job_id').notNull(),
    /** The key that made the job; its callback secret signs every attempt (null: the edge's CALLBACK_SIGNING_SECRET). */
    apiKeyId: text('api_key_id'),
    url: text('url').notNull(),
    /** The JSON body, fixed when the job ended, so every attempt sends the same bytes (only the signed timestamp changes). */
    body: text('body').notNull(),
    /** `pending` (due at `next_attempt_at`), `delivered` (a 2xx came back) or `failed` (attempts used up). */
    state: text('state', { enum: ['pending', 'delivered', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    /** When the next attempt is due; while an attempt is in flight, when its lease ends. */
    nextAttemptAt: integer('next_attempt_at', { mode: 'timestamp_ms' }).notNull(),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    deliveredAt: integer('delivered_at', { mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('callback_deliveries_job_idx').on(t.jobId), index('callback_deliveries_due_idx').on(t.state, t.nextAttemptAt)],
)
