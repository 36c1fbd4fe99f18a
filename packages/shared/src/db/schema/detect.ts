import { sql } from 'drizzle-orm'
import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import type { ContentCredentials } from '../../contracts/content-credentials.ts'

/** Models the platform knows of: one row per name@version, with its card as JSON. */
export const models = sqliteTable('models', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  version: text('version').notNull(),
  task: text('task').notNull(),
  architecture: text('architecture').notNull(),
  sha256: text('sha256').notNull(),
  card: text('card', { mode: 'json' }).notNull(),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull().default(sql`(unixepoch() * 1000)`),
})

/** One row per scored image. Holds the image's hash, never its bytes. */
export const detections = sqliteTable(
  'detections',
  {
    id: text('id').primaryKey(),
    /** The edge's own id for the request, unique per request; several images of one request share it. */
    requestId: text('request_id').notNull(),
    /** What the client sent as `x-request-id` (validated), kept apart so a client cannot make two requests share an id. */
    correlationId: text('correlation_id'),
    imageSha256: text('image_sha256').notNull(),
    imageBytes: integer('image_bytes').notNull(),
    modelName: text('model_name').notNull(),
    modelVersion: text('model_version').notNull(),
    aiGenerated: real('ai_generated').notNull(),
    verdict: text('verdict').notNull(),
    /** The threshold the verdict used; null on rows recorded before it was stored. */
    threshold: real('threshold'),
    scores: text('scores', { mode: 'json' }).$type<Record<string, number>>().notNull(),
    /** The image's C2PA content credentials as the runner summarised them; null when the runner read none (or before 0005). */
    contentCredentials: text('content_credentials', { mode: 'json' }).$type<ContentCredentials>(),
    apiKeyId: text('api_key_id'),
    runner: text('runner'),
    latencyMs: real('latency_ms').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    index('detections_sha256_idx').on(t.imageSha256),
    index('detections_created_idx').on(t.createdAt),
    index('detections_model_created_idx').on(t.modelName, t.createdAt),
    index('detections_key_created_idx').on(t.apiKeyId, t.createdAt),
  ],
)

/** API keys, stored as a sha256 of the secret; the secret itself is shown once at creation. */
export const apiKeys = sqliteTable('api_keys', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  prefix: text('prefix').notNull(),
  secretHash: text('secret_hash').notNull().unique(),
  scopes: text('scopes', { mode: 'json' }).$type<string[]>().notNull(),
  rateLimitPerMinute: integer('rate_limit_per_minute'),
  /**
   * Signs this key's async-detect callbacks (HMAC-SHA256). Kept as is, since signing needs it, and shown once at
   * creation like the key's secret; null for keys made before callbacks existed (they cannot ask for callbacks).
   */
  callbackSecret: text('callback_secret'),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
})
