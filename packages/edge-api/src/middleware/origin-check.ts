import type { MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env.ts'
import { ApiError } from '../errors.ts'

export interface OriginCheckOptions {
  /** Origins (`scheme://host[:port]`) allowed besides the edge's own. */
  allowedOrigins: readonly string[]
}

/** `https://Console.Example.com:443/` → `https://console.example.com`; undefined for what is not an http(s) origin. */
export function normaliseOrigin(origin: string): string | undefined {
  try {
    const url = new URL(origin)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
    return url.origin
  } catch {
    return undefined
  }
}

/**
 * Refuses, with 403 `forbidden`, a state-changing request that a browser sent from a page of another origin: any
 * web page can POST to a local stack, and the answer need not be readable for the harm to be done. Requests
 * without `Origin` (the CLI, servers, curl) pass; so do requests from the edge's own origin (its web console) and
 * from `allowedOrigins` (ALLOWED_ORIGINS). `Origin: null` (sandboxed frames, `file:` pages) is refused.
 * @example app.post('/v1/experiments', originCheck({ allowedOrigins: ['https://console.example.com'] }), handler)
 */
export const originCheck = (options: OriginCheckOptions): MiddlewareHandler<AppEnv> => {
  const allowed = new Set(options.allowedOrigins.map((origin) => normaliseOrigin(origin)).filter((o): o is string => o !== undefined))
  return createMiddleware<AppEnv>(async function originCheck(c, next) {
    const origin = c.req.header('origin')
    if (origin === undefined) return next()
    const normalised = normaliseOrigin(origin)
    if (normalised && (allowed.has(normalised) || normalised === new URL(c.req.url).origin)) return next()
    throw new ApiError('forbidden', `requests from the web origin ${JSON.stringify(origin.slice(0, 200))} are not allowed here (ALLOWED_ORIGINS)`, {
      details: { origin: origin.slice(0, 200) },
    })
  })
}
