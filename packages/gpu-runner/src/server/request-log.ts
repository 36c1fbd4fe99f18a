import type { MiddlewareHandler } from 'hono'
import pino, { type DestinationStream } from 'pino'

/** One structured log line. */
export type LogEntry = { level?: 'debug' | 'info' | 'warn' | 'error'; msg: string } & Record<string, unknown>
export type Log = (entry: LogEntry) => void

let stderr: DestinationStream | undefined
/** One synchronous writer on stderr for every logger of the process: lines never interleave, none is lost at exit. */
const stderrDestination = (): DestinationStream => (stderr ??= pino.destination({ dest: 2, sync: true }))

/**
 * Writes one JSON line per entry (pino) to stderr, or to `destination`: `level` as a name, `time` as ISO 8601,
 * `component` and the fixed `fields`, the entry's own fields and `msg`. Every level is written, `debug` included.
 * @example jsonLog('runner', { runner: 'gpu-0' })({ msg: 'listening', port: 8000 })
 */
export function jsonLog(component: string, fields: Record<string, unknown> = {}, destination: DestinationStream = stderrDestination()): Log {
  const logger = pino(
    { level: 'debug', base: { component, ...fields }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    destination,
  )
  return ({ level = 'info', msg, ...rest }) => logger[level](rest, msg)
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
