import type { MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env.ts'
import { ApiError } from '../errors.ts'

interface Bucket {
  tokens: number
  updatedAt: number
}

/**
 * Token buckets held in this process's memory, one per key: each edge instance limits on its own, so with
 * N instances behind a balancer a key can reach up to N times its limit. A bucket holds one minute's worth
 * of requests (the burst) and refills continuously.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>()

  constructor(private readonly clock: () => number = Date.now) {}

  /** Takes one token from `key`'s bucket; when empty, says how many seconds until the next one. */
  take(key: string, perMinute: number): { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number } {
    const now = this.clock()
    const perMs = perMinute / 60_000
    const bucket = this.buckets.get(key) ?? { tokens: perMinute, updatedAt: now }
    bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.updatedAt) * perMs)
    bucket.updatedAt = now
    this.buckets.set(key, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return { ok: true, remaining: Math.floor(bucket.tokens) }
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)) }
  }

  /** Number of buckets held (one per key seen). */
  get size(): number {
    return this.buckets.size
  }
}

export interface KeyRateLimitOptions {
  buckets: TokenBuckets
}

/**
 * Applies the authenticated key's `rateLimitPerMinute`: 429 `rate_limited` with `Retry-After` when its bucket
 * is empty. Anonymous requests and keys without a limit pass. Runs after `apiKeyAuth`.
 */
export const keyRateLimit = (options: KeyRateLimitOptions): MiddlewareHandler<AppEnv> => {
  return createMiddleware<AppEnv>(async function keyRateLimit(c, next) {
    const key = c.get('apiKey')
    if (!key?.rateLimitPerMinute) return next()
    const taken = options.buckets.take(key.id, key.rateLimitPerMinute)
    c.header('ratelimit-limit', String(key.rateLimitPerMinute))
    if (!taken.ok) {
      c.header('ratelimit-remaining', '0')
      throw new ApiError('rate_limited', `key ${key.id} is over its limit of ${key.rateLimitPerMinute} requests per minute`, {
        retryAfterSeconds: taken.retryAfterSeconds,
      })
    }
    c.header('ratelimit-remaining', String(taken.remaining))
    await next()
  })
}
