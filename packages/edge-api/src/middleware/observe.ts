import type { MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import { matchedRoutes } from 'hono/route'
import type { AppEnv } from '../app-env.ts'
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
  clock?: () => number
}

/** A client's `x-request-id` kept as its correlation id: 1–128 printable ASCII characters (space included, not at the ends). */
const CORRELATION_ID = /^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/

/** The client's correlation id from `x-request-id`, or undefined when absent or not 1–128 printable ASCII characters. */
export function correlationIdOf(header: string | undefined): string | undefined {
  return header !== undefined && CORRELATION_ID.test(header) ? header : undefined
}

/**
 * Gives every request the edge's own id (`requestId`, a fresh UUID, answered as `x-request-id`), so no two
 * requests share one. A client's `x-request-id` never replaces it: when valid, it is kept as `correlationId`,
 * echoed as `x-correlation-id`, logged and stored with the request's detections; otherwise it is ignored.
 */
export const requestIds = (): MiddlewareHandler<AppEnv> =>
  createMiddleware<AppEnv>(async function requestIds(c, next) {
    const id = crypto.randomUUID()
    c.set('requestId', id)
    c.header('x-request-id', id)
    const correlationId = correlationIdOf(c.req.header('x-request-id'))
    if (correlationId) {
      c.set('correlationId', correlationId)
      c.header('x-correlation-id', correlationId)
    }
    await next()
  })

/**
 * The route pattern a request matched (`/v1/experiments/:id`), as registered for its method; `other` when
 * only catch-all middlewares matched (unknown path or method), so metric labels stay a small, fixed set.
 */
export function matchedRoutePattern(c: Parameters<typeof matchedRoutes>[0]): string {
  return matchedRoutes(c).findLast((route) => route.method !== 'ALL')?.path ?? 'other'
}

/**
 * Times every request, counts it (matched route pattern, method, status; errors by code) and logs one JSON
 * line with the request id (and the client's correlation id), status, duration, API key id and error code.
 */
export const observe = (options: ObserveOptions): MiddlewareHandler<AppEnv> => {
  const clock = options.clock ?? (() => performance.now())
  return createMiddleware<AppEnv>(async function observe(c, next) {
    const started = clock()
    await next()
    const ms = clock() - started
    const route = matchedRoutePattern(c)
    const status = c.res.status
    const errorCode = c.get('errorCode')
    const apiKeyId = c.get('apiKeyId')
    const runner = c.get('runner')
    options.metrics.observeRequest(route, c.req.method, status, ms / 1000)
    if (errorCode) options.metrics.countError(errorCode)
    options.log({
      level: status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info',
      msg: 'request',
      request_id: c.get('requestId'),
      ...(c.get('correlationId') ? { correlation_id: c.get('correlationId') } : {}),
      method: c.req.method,
      route,
      status,
      duration_ms: Math.round(ms * 100) / 100,
      ...(apiKeyId ? { api_key_id: apiKeyId } : {}),
      ...(errorCode ? { error_code: errorCode } : {}),
      ...(runner ? { runner } : {}),
    })
  })
}
