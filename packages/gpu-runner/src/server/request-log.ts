import type { MiddlewareHandler } from 'hono'

/** One structured log line. */
export type LogEntry = { level?: 'debug' | 'info' | 'warn' | 'error'; msg: string } & Record<string, unknown>
export type Log = (entry: LogEntry) => void

/** Writes JSON lines to stderr, tagged with the component. */
export function jsonLog(component: string, fields: Record<string, unknown> = {}): Log {
  return (entry) => {
    const { level = 'info', msg, ...rest } = entry
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, component, ...fields, msg, ...rest })}\n`)
  }
}

const REQUEST_ID = /^[\w.:-]{1,128}$/

export interface RequestLogOptions {
  log: Log
  /** Also log successful GETs (health checks, metadata); off by default to keep probes out of the log. */
  logProbes?: boolean
}

/**
 * Carries the caller's `x-request-id` (or a new one) through the request, echoes it on the response and logs
 * one JSON line per request with its status, duration and, for errors, the error code.
 */
export const requestLog = (
  options: RequestLogOptions,
): MiddlewareHandler<{ Variables: { requestId: string; errorCode?: string; model?: string; images?: number } }> => {
  return async function requestLog(c, next) {
    const incoming = c.req.header('x-request-id')
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID()
    c.set('requestId', requestId)
    // Set before the response exists, so that it is part of it: set afterwards, Hono would re-wrap the finished
    // response, turning @hono/node-server's cached body into a web stream (about 0.2 ms and 30 KB of garbage a request).
    c.header('x-request-id', requestId)
    const started = performance.now()
    await next()
    const status = c.res.status
    if (!options.logProbes && c.req.method === 'GET' && status < 400) return
    const code = c.get('errorCode')
    options.log({
      level: status >= 500 && status !== 503 ? 'error' : status >= 400 ? 'warn' : 'info',
      msg: 'request',
      request_id: requestId,
      method: c.req.method,
      path: c.req.path,
      status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      ...(c.get('model') ? { model: c.get('model') } : {}),
      ...(c.get('images') !== undefined ? { images: c.get('images') } : {}),
      ...(code ? { code } : {}),
    })
  }
}
