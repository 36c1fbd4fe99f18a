import type { MiddlewareHandler } from 'hono'
import type { EdgeMetrics } from '../metrics/edge-metrics.ts'

/** One structured log line. */
export type LogEntry = Record<string, unknown> & { level: 'debug' | 'info' | 'warn' | 'error'; msg: string }
export type Logger = (entry: LogEntry) => void

/** Writes each entry as one JSON line on stdout (stderr for warnings and errors), dropping levels below `minimum`. */
export function jsonLogger(minimum: LogEntry['level'] | 'silent' = 'info'): Logger {
  const order = ['debug', 'info', 'warn', 'error', 'silent']
  return (entry) => {
    if (order.indexOf(entry.level) < order.indexOf(minimum)) return
    const line = JSON.stringify({ time: new Date().toISOString(), component: 'edge', ...entry })
    if (entry.level === 'warn' || entry.level === 'error') console.error(line)
    else console.log(line)
  }
}

export interface ObserveOptions {
  metrics: EdgeMetrics
  log: Logger
  /** Route patterns used as metric labels (`:name` matches one path segment); any other path is counted as `other`. */
  routes: readonly string[]
  clock?: () => number
}

/**
 * Times every request, counts it (route, method, status; errors by code) and logs one JSON line with the
 * request id, status, duration, API key id and error code.
 */
export const observe = (options: ObserveOptions): MiddlewareHandler => {
  const clock = options.clock ?? (() => performance.now())
  const patterns = options.routes.map((route) => ({
    route,
    matcher: new RegExp(`^${route.replace(/:[^/]+/g, '[^/]+')}$`),
  }))
  const label = (path: string) => patterns.find((p) => p.matcher.test(path))?.route ?? 'other'
  return async function observe(c, next) {
    const started = clock()
    await next()
    const ms = clock() - started
    const route = label(c.req.path)
    const status = c.res.status
    const errorCode = c.get('errorCode' as never) as string | undefined
    options.metrics.observeRequest(route, c.req.method, status, ms / 1000)
    if (errorCode) options.metrics.countError(errorCode)
    options.log({
      level: status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info',
      msg: 'request',
      request_id: c.get('requestId' as never),
      method: c.req.method,
      route,
      status,
      duration_ms: Math.round(ms * 100) / 100,
      ...(c.get('apiKeyId' as never) ? { api_key_id: c.get('apiKeyId' as never) } : {}),
      ...(errorCode ? { error_code: errorCode } : {}),
      ...(c.get('runner' as never) ? { runner: c.get('runner' as never) } : {}),
    })
  }
}
