import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * The runner registry: one row per runner process, upserted when it announces itself and refreshed by its
 * heartbeat. The edge routes only to rows whose heartbeat is fresh; a stale row is a dead runner.
 */
export const runners = sqliteTable('runners', {
  name: text('name').primaryKey(),
  url: text('url').notNull(),
  models: text('models', { mode: 'json' }).$type<string[]>().notNull(),
  capabilities: text('capabilities', { mode: 'json' }).$type<('detect' | 'train')[]>().notNull(),
  inflight: integer('inflight').notNull().default(0),
  ready: integer('ready', { mode: 'boolean' }).notNull(),
  draining: integer('draining', { mode: 'boolean' }).notNull().default(false),
  announcedAt: integer('announced_at', { mode: 'timestamp_ms' }).notNull(),
  heartbeatAt: integer('heartbeat_at', { mode: 'timestamp_ms' }).notNull(),
})
