import type { Db } from '@genimage/shared/db'
import type { Hono } from 'hono'
import { type AppEnv, createApp } from '../app.ts'
import type { EdgeEnvironment } from '../config.ts'
import type { ResolveHost } from '../inputs/url-fetch.ts'
import type { DetectJobs } from '../jobs/detect-jobs.ts'
import { jsonLogger } from '../middleware/observe.ts'
import type { DatasetCatalog } from '../routes/datasets.ts'
import { RunnerPool } from '../runners/runner-pool.ts'
import { withRunnerTokens } from '../runners/runner-tokens.ts'
import { libsqlExperimentStore } from '../store/libsql-experiments.ts'
import { libsqlKeyStore } from '../store/libsql-keys.ts'
import { libsqlRunnerSource } from '../store/libsql-runners.ts'
import { createLibsqlStore } from '../store/libsql-store.ts'

/**
 * The edge app over one libSQL database: detections, API keys and the runner registry all live there;
 * static RUNNER_URLS are routed to as well, each sent its runner token (RUNNER_TOKEN, see runner-tokens.ts).
 * Shared by the Node, Deno and workerd entries.
 */
export function createLibsqlEdgeApp(
  db: Db,
  settings: EdgeEnvironment,
  urlInput: { resolveHost?: ResolveHost; fetchUrl?: typeof fetch; runnerFetch?: typeof fetch; datasets?: DatasetCatalog; detectJobs?: DetectJobs } = {},
): Hono<AppEnv> {
  const runnerFetch = urlInput.runnerFetch ?? ((input, init) => fetch(input, init))
  const runners = new RunnerPool(settings.runnerUrls, {
    fetchFn: withRunnerTokens(runnerFetch, settings.runnerTokens),
    ...(settings.runnerRegistry ? { registry: libsqlRunnerSource(db, { maxAgeMs: settings.runnerHeartbeatTtlMs }) } : {}),
    breakerThreshold: settings.breakerThreshold,
    timeoutMs: settings.runnerTimeoutMs,
  })
  return createApp({
    store: createLibsqlStore(db),
    runners,
    keys: libsqlKeyStore(db),
    experiments: libsqlExperimentStore(db),
    ...(urlInput.resolveHost ? { resolveHost: urlInput.resolveHost } : {}),
    ...(urlInput.fetchUrl ? { fetchUrl: urlInput.fetchUrl } : {}),
    ...(urlInput.datasets ? { datasets: urlInput.datasets } : {}),
    ...(urlInput.detectJobs ? { detectJobs: urlInput.detectJobs } : {}),
    log: jsonLogger(settings.logLevel),
    config: settings.config,
  })
}
