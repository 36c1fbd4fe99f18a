import type { ApiKeyScope } from '@genimage/shared'
import { hashApiKeySecret } from '@genimage/shared/db'
import type { MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env.ts'
import { ApiError } from '../errors.ts'
import { hasScope, type KeyStore } from '../keys/api-keys.ts'

/**
 * `required`: every request needs a valid key. `optional`: requests without a key pass as anonymous.
 * `auto`: required as soon as a key has ever been created (revoked keys count), optional before.
 * In every mode a key that is presented must be valid, unrevoked and carry the scope.
 */
export type ApiKeyMode = 'auto' | 'required' | 'optional'

export interface ApiKeyAuthOptions {
  keys: KeyStore
  /** The scope this route needs. */
  scope: ApiKeyScope
  mode?: ApiKeyMode
  /**
   * A fixed bearer token also accepted on this route, besides keys with the scope (`METRICS_TOKEN` for `/metrics`).
   * A request authenticated by it carries no key.
   */
  staticToken?: string
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
 * Whether keys are required now. In `auto` mode the store is asked on every anonymous request until a key has
 * been created, and never again after: the answer can only turn from no to yes, so a new key takes effect at once
 * and revoking keys never turns it back.
 */
function keysRequiredCheck(mode: ApiKeyMode, keys: KeyStore): () => Promise<boolean> {
  if (mode !== 'auto') return async () => mode === 'required'
  let keyExisted = false
  return async () => {
    if (!keyExisted) keyExisted = await keys.anyEverCreated()
    return keyExisted
  }
}

/**
 * Authenticates the caller by API key and checks the route's scope: 401 `unauthorized` for a missing, unknown
 * or revoked key, 403 `forbidden` for a key without the scope. Sets `apiKeyId` and `apiKey` on the context.
 * @example app.use('/v1/detect', apiKeyAuth({ keys, scope: 'detect', mode: 'auto' }))
 */
export const apiKeyAuth = (options: ApiKeyAuthOptions): MiddlewareHandler<AppEnv> => {
  const keysRequired = keysRequiredCheck(options.mode ?? 'auto', options.keys)
  const staticTokenHash = options.staticToken ? hashApiKeySecret(options.staticToken) : undefined
  return createMiddleware<AppEnv>(async function apiKeyAuth(c, next) {
    const secret = presentedSecret(c.req)
    if (secret === undefined) {
      if (await keysRequired()) {
        throw new ApiError('unauthorized', 'an API key is required: send `Authorization: Bearer <key>` or `x-api-key: <key>`')
      }
      return next()
    }
    const secretHash = secret ? await hashApiKeySecret(secret) : undefined
    // Hashes are compared, not secrets, so the comparison's time says nothing about the token.
    if (secretHash && staticTokenHash && secretHash === (await staticTokenHash)) return next()
    const key = secretHash ? await options.keys.findBySecretHash(secretHash) : undefined
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
