import type { ApiKeyScope } from '@genimage/shared'
import { hashApiKeySecret } from '@genimage/shared/db'
import type { MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env.ts'
import { ApiError } from '../errors.ts'
import { hasScope, type KeyStore } from '../keys/api-keys.ts'

/**
 * `required`: every request needs a valid key. `optional`: requests without a key pass as anonymous.
 * `auto`: required as soon as one unrevoked key exists, optional before.
 * In every mode a key that is presented must be valid, unrevoked and carry the scope.
 */
export type ApiKeyMode = 'auto' | 'required' | 'optional'

export interface ApiKeyAuthOptions {
  keys: KeyStore
  /** The scope this route needs. */
  scope: ApiKeyScope
  mode?: ApiKeyMode
  /** How long `auto` trusts its count of active keys (default 5000 ms). */
  activeKeysCacheMs?: number
  clock?: () => number
}

/** Reads `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedSecret(headers: { header(name: string): string | undefined }): string | undefined {
  const authorization = headers.header('authorization')
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    return match?.[1] ?? ''
  }
  return headers.header('x-api-key')?.trim()
}

/**
 * Authenticates the caller by API key and checks the route's scope: 401 `unauthorized` for a missing, unknown
 * or revoked key, 403 `forbidden` for a key without the scope. Sets `apiKeyId` and `apiKey` on the context.
 * @example app.use('/v1/detect', apiKeyAuth({ keys, scope: 'detect', mode: 'auto' }))
 */
export const apiKeyAuth = (options: ApiKeyAuthOptions): MiddlewareHandler<AppEnv> => {
  const mode = options.mode ?? 'auto'
  const cacheMs = options.activeKeysCacheMs ?? 5_000
  const clock = options.clock ?? Date.now
  let activeKeys: { count: number; at: number } | undefined
  const keysRequired = async () => {
    if (mode !== 'auto') return mode === 'required'
    if (!activeKeys || clock() - activeKeys.at >= cacheMs) activeKeys = { count: await options.keys.countActive(), at: clock() }
    return activeKeys.count > 0
  }
  return createMiddleware<AppEnv>(async function apiKeyAuth(c, next) {
    const secret = presentedSecret(c.req)
    if (secret === undefined) {
      if (await keysRequired()) {
        throw new ApiError('unauthorized', 'an API key is required: send `Authorization: Bearer <key>` or `x-api-key: <key>`')
      }
      return next()
    }
    const key = secret ? await options.keys.findBySecretHash(await hashApiKeySecret(secret)) : undefined
    if (!key) throw new ApiError('unauthorized', 'the API key is not valid')
    if (key.revokedAt) throw new ApiError('unauthorized', 'the API key was revoked')
    if (!hasScope(key, options.scope)) {
      throw new ApiError('forbidden', `the API key lacks the \`${options.scope}\` scope`, { details: { scope: options.scope } })
    }
    c.set('apiKeyId', key.id)
    c.set('apiKey', key)
    await next()
  })
}
