import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import type { DetectJobItemAnswer } from '../../contracts/detect-jobs.ts'

/**
 * Async detect jobs (`POST /v1/detect?async=true`): one row per job. The images wait as files in the spool of the
 * edge that accepted the job (`spool_id` names that spool), so only that edge's worker scores them; counters are
 * kept in step with the items in the same transaction that records each item's detections.
 */
export const detectJobs = sqliteTable(
  'detect_jobs',
  {
    /** The id of the request that made the job; also the `id` of its answer and the `request_id` of its detections. */
    id: text('id').primaryKey(),
    /** The key that made the job (null: anonymous); only it (or an admin key) reads the job. */
    apiKeyId: text('api_key_id'),
    correlationId: text('correlation_id'),
    spoolId: text('spool_id').notNull(),
    state: text('state', { enum: ['queued', 'running', 'done', 'failed'] }).notNull(),
    /** Models named by the request, in order (empty: the default model). */
    models: text('models', { mode: 'json' }).$type<string[]>().notNull(),
    callbackUrl: text('callback_url'),
    total: integer('total').notNull(),
    scored: integer('scored').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    /** Runner time over all items, in ms. */
    runnerMs: real('runner_ms').notNull().default(0),
    /** When the job failed as a whole (no image could be scored): the first item's error. */
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    /** Whether the callback delivery of a finished job has been enqueued (a restart enqueues what is missing). */
    callbackEnqueued: integer('callback_enqueued', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('detect_jobs_spool_state_idx').on(t.spoolId, t.state, t.createdAt), index('detect_jobs_key_idx').on(t.apiKeyId, t.createdAt)],
)

/** One image of a detect job, by its position in the request: its spooled bytes' facts, its state and its answer. */
export const detectJobItems = sqliteTable(
  'detect_job_items',
  {
    jobId: text('job_id').notNull(),
    idx: integer('idx').notNull(),
    /** `queued` (bytes in the spool, or a URL to fetch), `done` (scored and recorded) or `failed`. */
    state: text('state', { enum: ['queued', 'done', 'failed'] }).notNull(),
    filename: text('filename'),
    /** For URL items, the URL the worker fetches; the bytes facts below are filled when it is scored. */
    url: text('url'),
    sha256: text('sha256'),
    bytes: integer('bytes'),
    width: integer('width'),
    height: integer('height'),
    /** Scoring attempts that ended in a transient failure (runner busy or down); the item waits until `not_before`. */
    attempts: integer('attempts').notNull().default(0),
    notBefore: integer('not_before', { mode: 'timestamp_ms' }),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    /** Each named model's answer for this image, in the order named. */
    answers: text('answers', { mode: 'json' }).$type<DetectJobItemAnswer[]>(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.idx] }), index('detect_job_items_state_idx').on(t.jobId, t.state, t.idx)],
)
