import type { HealthResponse } from '@genimage/shared'
import { Hono } from 'hono'
import { type EdgeConfig, EdgeConfig as EdgeConfigSchema } from './config.ts'
import { ApiError, errorHandler } from './errors.ts'
import { detectRoutes } from './routes/detect.ts'
import { modelRoutes } from './routes/models.ts'
import type { RunnerPool } from './runners/runner-pool.ts'
import type { DetectionStore } from './store/detection-store.ts'

/** Everything the edge app needs from outside; entries for Node, Deno and workerd provide it. */
export interface AppDeps {
  store: DetectionStore
  runners: RunnerPool
  config: EdgeConfig
}

export type AppEnv = { Variables: { requestId: string; apiKeyId?: string } }

/**
 * The public API as a Hono app, built only on web-standard APIs.
 * @example const app = createApp({ store, runners: new RunnerPool(['http://127.0.0.1:8788']), config: EdgeConfig.parse({}) })
 */
export function createApp(deps: Omit<AppDeps, 'config'> & { config?: Partial<EdgeConfig> }): Hono<AppEnv> {
  const full: AppDeps = { ...deps, config: EdgeConfigSchema.parse(deps.config ?? {}) }
  const app = new Hono<AppEnv>()
  app.use(async function requestId(c, next) {
    const incoming = c.req.header('x-request-id')
    const id = incoming && /^[\w.-]{1,100}$/.test(incoming) ? incoming : crypto.randomUUID()
    c.set('requestId', id)
    c.header('x-request-id', id)
    await next()
  })
  app.onError(errorHandler)
  app.notFound(() => {
    throw new ApiError('not_found', 'no such route')
  })

  app.get('/healthz', async (c) => {
    await full.runners.refresh()
    const ready = full.runners.runners.filter((r) => r.ready)
    const database = (await full.store.ping()) ? 'ok' : 'error'
    const models = new Set(ready.flatMap((r) => [...r.models.keys()])).size
    const body: HealthResponse = {
      status: database === 'ok' && ready.length > 0 && models > 0 ? 'ok' : 'degraded',
      runners: { total: full.runners.runners.length, ready: ready.length },
      models,
      database,
    }
    return c.json(body, body.status === 'ok' ? 200 : 503)
  })
  app.route('/v1/detect', detectRoutes(full))
  app.route('/v1/models', modelRoutes(full))
  return app
}
