import type { HealthResponse } from '@genimage/shared'
import { Hono } from 'hono'
import { type EdgeConfig, EdgeConfig as EdgeConfigSchema } from './config.ts'
import { ApiError, errorHandler } from './errors.ts'
import type { ResolveHost } from './inputs/url-fetch.ts'
import { type KeyStore, noKeys } from './keys/api-keys.ts'
import { EdgeMetrics } from './metrics/edge-metrics.ts'
import { apiKeyAuth } from './middleware/api-key-auth.ts'
import { jsonLogger, type Logger, observe } from './middleware/observe.ts'
import { keyRateLimit, TokenBuckets } from './middleware/rate-limit.ts'
import { openApiDocument } from './openapi.ts'
import { detectRoutes } from './routes/detect.ts'
import { type ExperimentStore, experimentRoutes } from './routes/experiments.ts'
import { modelRoutes } from './routes/models.ts'
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
}

/** AppDeps with every default filled in, as the routes see them. */
export type ResolvedDeps = Required<Omit<AppDeps, 'resolveHost' | 'experiments'>> & Pick<AppDeps, 'resolveHost' | 'experiments'>

export type AppEnv = {
  Variables: { requestId: string; apiKeyId?: string; errorCode?: string; runner?: string }
}

/** Route patterns reported in metrics and logs. */
const ROUTES = [
  '/v1/detect',
  '/v1/models',
  '/v1/experiments',
  '/v1/experiments/:id',
  '/v1/experiments/:id/cancel',
  '/v1/experiments/:id/events',
  '/healthz',
  '/metrics',
  '/openapi.json',
] as const

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
  const buckets = new TokenBuckets(clock)
  const auth = (scope: 'detect' | 'experiments' | 'admin') => apiKeyAuth({ keys: full.keys, scope, mode: config.apiKeys, clock })
  const document = openApiDocument(config)

  const app = new Hono<AppEnv>()
  app.use(async function requestId(c, next) {
    const incoming = c.req.header('x-request-id')
    const id = incoming && /^[\w.-]{1,100}$/.test(incoming) ? incoming : crypto.randomUUID()
    c.set('requestId', id)
    c.header('x-request-id', id)
    await next()
  })
  app.use(observe({ metrics: full.metrics, log: full.log, routes: ROUTES }))
  app.onError(errorHandler)
  app.notFound((c) => errorHandler(new ApiError('not_found', 'no such route'), c))

  app.get('/healthz', async (c) => {
    await full.runners.refresh()
    const routable = full.runners.runners.filter((r) => full.runners.routable(r))
    const database = (await full.store.ping()) ? 'ok' : 'error'
    const models = new Set(routable.flatMap((r) => [...r.models.keys()])).size
    const body: HealthResponse = {
      status: database === 'ok' && routable.length > 0 && models > 0 ? 'ok' : 'degraded',
      runners: { total: full.runners.runners.length, ready: routable.length },
      models,
      database,
    }
    return c.json(body, body.status === 'ok' ? 200 : 503)
  })
  app.get('/openapi.json', (c) => c.json(document))
  app.get('/metrics', auth('admin'), async (c) => {
    await full.runners.refresh()
    return c.body(full.metrics.render(full.runners), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
  })
  app.use('/v1/detect', auth('detect'), keyRateLimit({ buckets }))
  app.use('/v1/models', auth('detect'), keyRateLimit({ buckets }))
  app.route('/v1/detect', detectRoutes(full))
  app.route('/v1/models', modelRoutes(full))
  if (full.experiments) {
    app.use('/v1/experiments', auth('experiments'))
    app.use('/v1/experiments/*', auth('experiments'))
    app.route('/v1/experiments', experimentRoutes(full.experiments))
  }
  return app
}
