import type { HealthResponse } from '@genimage/shared'
import type { Handler } from 'hono'
import type { AppEnv } from '../app-env.ts'
import type { ResolvedDeps } from '../app.ts'

/** `GET /healthz`: 200 when the database answers and a ready runner serves a model, 503 `degraded` otherwise. */
export function health(deps: Pick<ResolvedDeps, 'runners' | 'store'>): Handler<AppEnv> {
  return async function health(c) {
    await deps.runners.refresh()
    const routable = deps.runners.runners.filter((r) => deps.runners.routable(r))
    const database = (await deps.store.ping()) ? 'ok' : 'error'
    const models = new Set(routable.flatMap((r) => [...r.models.keys()])).size
    const body: HealthResponse = {
      status: database === 'ok' && routable.length > 0 && models > 0 ? 'ok' : 'degraded',
      runners: { total: deps.runners.runners.length, ready: routable.length },
      models,
      database,
    }
    return c.json(body, body.status === 'ok' ? 200 : 503)
  }
}

/** `GET /metrics`: this edge instance's counters and its view of the runner pool, in Prometheus text format. */
export function metrics(deps: Pick<ResolvedDeps, 'runners' | 'metrics'>): Handler<AppEnv> {
  return async function metrics(c) {
    await deps.runners.refresh()
    return c.body(deps.metrics.render(deps.runners), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
  }
}
