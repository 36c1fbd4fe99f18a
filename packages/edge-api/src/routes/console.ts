import { consoleAsset, consolePage } from '@genimage/console'
import type { Hono } from 'hono'
import type { AppEnv } from '../app-env.ts'
import type { EdgeConfig } from '../config.ts'
import { ApiError } from '../errors.ts'

/**
 * The console's Content-Security-Policy: its own script and stylesheet only (no inline script or style, nothing
 * from another origin), API calls to this origin, thumbnails as `data:`/`blob:` images, no frames, no plugins.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * Serves the web console (packages/console, built ahead into strings) on this origin: the page at `/` and its
 * fingerprinted script and stylesheet under `/console/`, cached for good. It never shadows `/v1/*`, `/healthz`,
 * `/metrics` or `/openapi.json`, and needs no key: the page holds no data, and every API call it makes is guarded.
 */
export function mountConsole(app: Hono<AppEnv>, config: EdgeConfig): void {
  const page = consolePage({ allowUrlInput: config.allowUrlInput, maxRequestBytes: config.maxRequestBytes })
  const securityHeaders = {
    'content-security-policy': CONSOLE_CSP,
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  }
  app.get('/', (c) => c.body(page, 200, { ...securityHeaders, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }))
  app.get('/console/:file', (c) => {
    const asset = consoleAsset(new URL(c.req.url).pathname)
    if (!asset) throw new ApiError('not_found', 'no such console file')
    return c.body(asset.body, 200, { ...securityHeaders, 'content-type': asset.type, 'cache-control': 'public, max-age=31536000, immutable' })
  })
}
