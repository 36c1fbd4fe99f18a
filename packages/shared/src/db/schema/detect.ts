import { sql } from 'drizzle-orm'
import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core'

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
    requestId: text('request_id').notNull(),
    imageSha256: text('image_sha256').notNull(),
    imageBytes: integer('image_bytes').notNull(),
    modelName: text('model_name').notNull(),
    modelVersion: text('model_version').notNull(),
    aiGenerated: real('ai_generated').notNull(),
    verdict: text('verdict').notNull(),
    scores: text('scores', { mode: 'json' }).$type<Record<string, number>>().notNull(),
    apiKeyId: text('api_key_id'),
    runner: text('runner'),
    latencyMs: real('latency_ms').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('detections_sha256_idx').on(t.imageSha256), index('detections_created_idx').on(t.createdAt)],
)

/** API keys, stored as a sha256 of the secret; the secret itself is shown once at creation. */
export const apiKeys = sqliteTable('api_keys', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  prefix: text('prefix').notNull(),
  secretHash: text('secret_hash').notNull().unique(),
  scopes: text('scopes', { mode: 'json' }).$type<string[]>().notNull(),
  rateLimitPerMinute: integer('rate_limit_per_minute'),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
})
