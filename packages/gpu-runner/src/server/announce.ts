import type { Log } from './request-log.ts'

/** What the runner reports about itself to the registry. */
export interface RunnerSelf {
  name: string
  url: string
  models: string[]
  capabilities: ('detect' | 'train')[]
  inflight: () => number
  draining: () => boolean
}

export interface Announcer {
  /** Marks the runner draining in the registry (edges stop routing to it) and stops the heartbeat. */
  drain(): Promise<void>
  /** Removes the runner's row. */
  remove(): Promise<void>
}

/**
 * Announces the runner in the libSQL runner registry and keeps its heartbeat fresh every `heartbeatMs`.
 * Registry trouble is logged, never fatal: static RUNNER_URLS on the edge keep working without it.
 */
export async function announceInRegistry(
  self: RunnerSelf,
  options: { databaseUrl: string; authToken?: string; heartbeatMs: number },
  log: Log,
): Promise<Announcer> {
  const { createDb, announceRunner, heartbeatRunner, removeRunner } = await import('@genimage/shared/db')
  const db = await createDb(options.databaseUrl, { authToken: options.authToken })
  const info = () => ({
    name: self.name,
    url: self.url,
    models: self.models,
    capabilities: self.capabilities,
    inflight: self.inflight(),
    ready: !self.draining(),
    draining: self.draining(),
  })
  const warn = (what: string) => (error: unknown) => log({ level: 'warn', msg: `runner registry ${what} failed`, error: String(error) })
  await announceRunner(db, info()).then(() => log({ msg: `announced ${self.name} at ${self.url} in the runner registry` }), warn('announce'))
  let beating: Promise<unknown> = Promise.resolve()
  const timer = setInterval(() => {
    beating = heartbeatRunner(db, self.name, { inflight: self.inflight(), ready: !self.draining(), draining: self.draining() })
      .then((known) => (known ? undefined : announceRunner(db, info())))
      .catch(warn('heartbeat'))
  }, options.heartbeatMs)
  timer.unref()
  return {
    drain: async () => {
      clearInterval(timer)
      await beating
      await heartbeatRunner(db, self.name, { ready: false, draining: true, inflight: self.inflight() }).catch(warn('drain'))
    },
    remove: async () => {
      clearInterval(timer)
      await beating
      await removeRunner(db, self.name).catch(warn('remove'))
      db.$client.close()
    },
  }
}
