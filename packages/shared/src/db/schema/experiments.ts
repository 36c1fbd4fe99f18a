import { index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

/**
 * One experiment: a protocol expanded into runs. Its state is derived from its jobs' states, except that a
 * cancel is recorded here (`cancelledAt`) so an edge restart or a late runner sees it.
 */
export const experiments = sqliteTable(
  'experiments',
  {
    id: text('id').primaryKey(),
    name: text('name'),
    protocol: text('protocol').notNull(),
    /** The validated ExperimentSpec as submitted (with defaults filled). */
    spec: text('spec', { mode: 'json' }).notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    cancelledAt: integer('cancelled_at', { mode: 'timestamp_ms' }),
    /** The API key that submitted it (null: anonymous); only that key, or an `admin` key, may see or cancel it. */
    ownerKeyId: text('owner_key_id'),
  },
  (t) => [index('experiments_created_idx').on(t.createdAt), index('experiments_owner_idx').on(t.ownerKeyId, t.createdAt)],
)

/**
 * One run of an experiment as a job on the runner pool. A runner claims it by taking the lease
 * (`leaseOwner`, `leaseExpiresAt`), renews the lease on each heartbeat, and a lease that expires makes the
 * job claimable again. `attempts` counts claims; `availableAt` holds back a retry (backoff).
 */
export const jobs = sqliteTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    experimentId: text('experiment_id')
      .notNull()
      .references(() => experiments.id),
    runIndex: integer('run_index').notNull(),
    model: text('model').notNull(),
    trainOn: text('train_on', { mode: 'json' }).$type<string[]>().notNull(),
    testOn: text('test_on', { mode: 'json' }).$type<string[]>().notNull(),
    degradations: text('degradations', { mode: 'json' }).$type<string[]>().notNull(),
    seed: integer('seed').notNull(),
    /** queued | running | succeeded | failed | cancelled */
    state: text('state').notNull(),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    availableAt: integer('available_at', { mode: 'timestamp_ms' }).notNull(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: integer('lease_expires_at', { mode: 'timestamp_ms' }),
    heartbeatAt: integer('heartbeat_at', { mode: 'timestamp_ms' }),
    /** RunProgress JSON, updated on heartbeats. */
    progress: text('progress', { mode: 'json' }),
    /** RunEpoch[] JSON: one entry per finished epoch (training curves). */
    history: text('history', { mode: 'json' }),
    failureReason: text('failure_reason'),
    /** Folder holding this run's checkpoints and exported model. */
    artifactDir: text('artifact_dir'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('jobs_claim_idx').on(t.state, t.availableAt), index('jobs_experiment_idx').on(t.experimentId, t.runIndex)],
)

/**
 * Scores of one run on one test subset under one degradation; the unique index makes writes idempotent.
 * A metric that is undefined for the set (e.g. AUC without real images) is NULL.
 */
export const metrics = sqliteTable(
  'metrics',
  {
    jobId: text('job_id')
      .notNull()
      .references(() => jobs.id),
    experimentId: text('experiment_id').notNull(),
    testSet: text('test_set').notNull(),
    degradation: text('degradation').notNull(),
    accuracy: real('accuracy').notNull(),
    realAccuracy: real('real_accuracy'),
    fakeAccuracy: real('fake_accuracy'),
    averagePrecision: real('average_precision'),
    rocAuc: real('roc_auc'),
    count: integer('count').notNull(),
    realCount: integer('real_count').notNull(),
    fakeCount: integer('fake_count').notNull(),
    accuracyCiLow: real('accuracy_ci_low'),
    accuracyCiHigh: real('accuracy_ci_high'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [uniqueIndex('metrics_cell_idx').on(t.jobId, t.testSet, t.degradation), index('metrics_experiment_idx').on(t.experimentId)],
)
