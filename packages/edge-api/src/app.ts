import type { ApiKeyScope } from '@genimage/shared'
import { Hono, type MiddlewareHandler } from 'hono'
import type { AppEnv } from './app-env.ts'
import { type EdgeConfig, EdgeConfig as EdgeConfigSchema } from './config.ts'
import { ApiError, errorHandler } from './errors.ts'
import type { ResolveHost } from './inputs/url-fetch.ts'
import type { DetectJobs } from './jobs/detect-jobs.ts'
import { type KeyStore, noKeys } from './keys/api-keys.ts'
import { EdgeMetrics } from './metrics/edge-metrics.ts'
import { apiKeyAuth } from './middleware/api-key-auth.ts'
import { jsonLogger, type Logger, observe, requestIds } from './middleware/observe.ts'
import { originCheck } from './middleware/origin-check.ts'
import { keyRateLimit, TokenBuckets } from './middleware/rate-limit.ts'
import { API_ROUTES, type ApiRoute } from './routes/api-routes.ts'
import { mountConsole } from './routes/console.ts'
import type { DatasetCatalog } from './routes/datasets.ts'
import type { ExperimentStore } from './routes/experiments.ts'
import type { RunnerPool } from './runners/runner-pool.ts'
import type { DetectionStore } from './store/detection-store.ts'

/** Everything the edge app needs from outside; entries for Node, Deno and workerd provide it. */
export interface AppDeps {
  store: DetectionStore
  runners: RunnerPool
  config: EdgeConfig
  /** API keys (default: none, so requests are anonymous unless `config.apiKeys` is `required`). */
  keys?: KeyStore
  /** Milliseconds clock for rate limits and caches (default `Date.now`). */
  clock?: () => number
  /** DNS for `url` inputs; without it, `url` inputs are refused even when enabled. On Node: `nodeResolveHost`. */
  resolveHost?: ResolveHost
  /** The HTTP client used for `url` inputs (default global `fetch`). */
  fetchUrl?: typeof fetch
  /** Structured log sink (default: JSON lines on the console). */
  log?: Logger
  metrics?: EdgeMetrics
  /** Experiments and their jobs (e.g. `libsqlExperimentStore(db)`); without it `/v1/experiments` is not served. */
  experiments?: ExperimentStore
  /** Datasets the runners can read (on Node: `fileDatasetCatalog(DATASET_DIRS)`); without it `/v1/datasets` is not served. */
  datasets?: DatasetCatalog
  /** Async detect jobs and their spool (Node entry); without it `?async=true` is 501 `async_not_supported`. */
  detectJobs?: DetectJobs
}

/** AppDeps with every default filled in, as the routes see them. */
type OptionalDeps = 'resolveHost' | 'experiments' | 'datasets' | 'detectJobs'
export type ResolvedDeps = Required<Omit<AppDeps, OptionalDeps>> & Pick<AppDeps, OptionalDeps>

export type { AppEnv } from './app-env.ts'

function notServed(): never {
  throw new ApiError('not_found', 'no such route on this deployment')
}

/**
 * The public API as a Hono app, built only on web-standard APIs.
 * @example const app = createApp({ store, runners: new RunnerPool(['http://127.0.0.1:8788']), keys: libsqlKeyStore(db) })
 */
export function createApp(deps: Omit<AppDeps, 'config'> & { config?: Partial<EdgeConfig> }): Hono<AppEnv> {
  const config = EdgeConfigSchema.parse(deps.config ?? {})
  const clock = deps.clock ?? Date.now
  const full: ResolvedDeps = {
    ...deps,
    config,
    keys: deps.keys ?? noKeys,
    clock,
    fetchUrl: deps.fetchUrl ?? ((input, init) => fetch(input, init)),
    log: deps.log ?? jsonLogger(),
    metrics: deps.metrics ?? new EdgeMetrics(),
  }
  const rateLimit = keyRateLimit({ buckets: new TokenBuckets(clock) })
  const authByScope = new Map<ApiKeyScope, MiddlewareHandler<AppEnv>>()
  const auth = (scope: ApiKeyScope) => {
    const staticToken = scope === 'metrics' ? config.metricsToken : undefined
    const guard = authByScope.get(scope) ?? apiKeyAuth({ keys: full.keys, scope, mode: config.apiKeys, staticToken })
    authByScope.set(scope, guard)
    return guard
  }
  const sameOriginOrAllowed = originCheck({ allowedOrigins: config.allowedOrigins })
  const guards = (route: ApiRoute) => [
    ...(route.method === 'GET' ? [] : [sameOriginOrAllowed]),
    ...(route.scope === 'public' ? [] : [auth(route.scope), ...(route.rateLimited ? [rateLimit] : [])]),
  ]

  const app = new Hono<AppEnv>()
  app.use(requestIds())
  app.use(async function noSniffNoStore(c, next) {
    await next()
    // Answers are JSON about one caller's images: browsers must not sniff them into another type, nor caches keep them.
    c.header('x-content-type-options', 'nosniff')
    if (!c.res.headers.has('cache-control')) c.header('cache-control', 'no-store')
  })
  app.use(observe({ metrics: full.metrics, log: full.log }))
  app.onError(errorHandler)
  app.notFound((c) => errorHandler(new ApiError('not_found', 'no such route'), c))
  for (const route of API_ROUTES) {
    const handlers = route.serve(full)
    // A documented route this deployment does not serve still matches, so its requests are counted under its pattern.
    if (handlers) app.on(route.method, [route.path], ...guards(route), ...handlers)
    else app.on(route.method, [route.path], notServed)
  }
  mountConsole(app, config)
  return app
}
