import { eq, gte } from 'drizzle-orm'
import { RunnerAnnouncement, RunnerHeartbeat, type RunnerCapability } from '../contracts/pool.ts'
import { runners } from './schema/pool.ts'
import type { Db } from './index.ts'

/** A registry row as the edge reads it. */
export interface RegisteredRunner {
  name: string
  url: string
  models: string[]
  capabilities: RunnerCapability[]
  inflight: number
  ready: boolean
  draining: boolean
  announcedAt: Date
  heartbeatAt: Date
}

/** How old a heartbeat may be before the runner counts as gone (runners beat well inside this). */
export const RUNNER_HEARTBEAT_TTL_MS = 15_000

/**
 * Registers a runner (or re-registers one that restarted under the same name) and stamps its heartbeat.
 * Call it once the runner listens and its models are loaded.
 * @example await announceRunner(db, { name: 'gpu-0', url: 'http://10.0.0.7:8788', models: ['npr'], capabilities: ['detect'] })
 * @throws ZodError when the announcement is malformed (empty name, non-http URL, no capability).
 */
export async function announceRunner(db: Db, info: RunnerAnnouncement, now: Date = new Date()): Promise<void> {
  const a = RunnerAnnouncement.parse(info)
  const row = { ...a, announcedAt: now, heartbeatAt: now }
  await db
    .insert(runners)
    .values(row)
    .onConflictDoUpdate({ target: runners.name, set: { ...a, announcedAt: now, heartbeatAt: now } })
}

/**
 * Refreshes a runner's heartbeat and whatever state it reports (in-flight count, readiness, draining, models).
 * Call it every few seconds, well inside {@link RUNNER_HEARTBEAT_TTL_MS}.
 * @returns false when no row has that name (it was removed or never announced): announce again.
 * @example if (!(await heartbeatRunner(db, 'gpu-0', { inflight: 3 }))) await announceRunner(db, info)
 */
export async function heartbeatRunner(db: Db, name: string, state: RunnerHeartbeat = {}, now: Date = new Date()): Promise<boolean> {
  const s = RunnerHeartbeat.parse(state)
  const changed = Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined))
  const updated = await db
    .update(runners)
    .set({ ...changed, heartbeatAt: now })
    .where(eq(runners.name, name))
    .returning({ name: runners.name })
  return updated.length > 0
}

/**
 * Takes a runner out of the registry; edges stop routing to it on their next refresh.
 * Call it on clean shutdown (after draining) — a crashed runner simply stops beating and ages out.
 */
export async function removeRunner(db: Db, name: string): Promise<void> {
  await db.delete(runners).where(eq(runners.name, name))
}

export interface ListRunnersOptions {
  /** Only runners with this capability. */
  capability?: RunnerCapability
  /** Heartbeats older than this are left out (default {@link RUNNER_HEARTBEAT_TTL_MS}). */
  maxAgeMs?: number
  now?: Date
}

/** Runners whose heartbeat is fresh, oldest announcement first. Draining and not-ready runners are included: callers decide. */
export async function listRunners(db: Db, options: ListRunnersOptions = {}): Promise<RegisteredRunner[]> {
  const now = options.now ?? new Date()
  const since = new Date(now.getTime() - (options.maxAgeMs ?? RUNNER_HEARTBEAT_TTL_MS))
  const rows = await db.select().from(runners).where(gte(runners.heartbeatAt, since)).orderBy(runners.announcedAt)
  return options.capability ? rows.filter((r) => r.capabilities.includes(options.capability as RunnerCapability)) : rows
}
