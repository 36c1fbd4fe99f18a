import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { RunnerError } from './infer-inputs.ts'

/** Paths answered without the token: orchestrators probe them (kubelet, compose health checks) and they reveal nothing. */
export const UNAUTHENTICATED_PATHS: ReadonlySet<string> = new Set(['/v2/health/live', '/v2/health/ready'])

/** Shortest `RUNNER_TOKEN` accepted, so a guessable one is refused at start-up. */
export const MIN_RUNNER_TOKEN_LENGTH = 16

const digest = (text: string) => createHash('sha256').update(text).digest()

/**
 * Requires `Authorization: Bearer <token>` on every route but liveness and readiness; otherwise a RunnerError the
 * app's error handler answers as 401 in the OIP error shape (`{ error, code: 'unauthorized' }`), counted and logged. The presented and the expected token are compared as sha256
 * digests in constant time, so neither the length nor the first differing byte shows in the answer time.
 * `metricsWithoutToken` also leaves `GET /metrics` open, for a Prometheus that scrapes pods without credentials
 * (RUNNER_METRICS_WITHOUT_TOKEN; limit who reaches the port with a NetworkPolicy instead).
 * @example app.use('*', runnerTokenAuth(process.env.RUNNER_TOKEN))
 */
export const runnerTokenAuth = (token: string, options: { metricsWithoutToken?: boolean } = {}): MiddlewareHandler => {
  if (token.length < MIN_RUNNER_TOKEN_LENGTH) throw new RangeError(`the runner token must be at least ${MIN_RUNNER_TOKEN_LENGTH} characters`)
  const expected = digest(token)
  const open = new Set([...UNAUTHENTICATED_PATHS, ...(options.metricsWithoutToken ? ['/metrics'] : [])])
  return async function runnerTokenAuth(c, next) {
    if (open.has(c.req.path)) return next()
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1]
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) return next()
    c.header('www-authenticate', 'Bearer realm="genimage-runner"')
    throw new RunnerError(
      'unauthorized',
      presented === undefined ? 'this runner requires `Authorization: Bearer <RUNNER_TOKEN>`' : 'the runner token is not valid',
    )
  }
}
