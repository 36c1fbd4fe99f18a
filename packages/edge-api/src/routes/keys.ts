import { type ApiKeyListResponse, CreateApiKeyRequest, type RevokedApiKey } from '@genimage/shared'
import type { Handler, MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app-env.ts'
import { ApiError } from '../errors.ts'
import { invalidSpec, readJsonBody } from '../experiments/experiment-request.ts'
import { hasScope, type KeyManagement } from '../keys/api-keys.ts'

/** Bodies of `POST /v1/keys` are a name and a few scopes: a few KiB at most. */
const MAX_CREATE_KEY_BYTES = 4 * 1024

/**
 * Key management always needs an `admin` key, whatever `REQUIRE_API_KEY` says: on a stack that has no key yet
 * (or runs with keys optional) anonymous callers pass the scope check, and must not mint an admin key for
 * themselves. The first key comes from `genimage keys create --scopes admin` (or `genimage start`).
 */
export const adminKeyOnly: MiddlewareHandler<AppEnv> = createMiddleware<AppEnv>(async function adminKeyOnly(c, next) {
  const key = c.get('apiKey')
  if (!key) {
    throw new ApiError(
      'unauthorized',
      'managing API keys needs an admin key: create the first one with `npx genimage keys create --name <name> --scopes admin`',
    )
  }
  if (!hasScope(key, 'admin')) throw new ApiError('forbidden', 'the API key lacks the `admin` scope', { details: { scope: 'admin' } })
  await next()
})

/** `GET /v1/keys`: every key, newest first, revoked ones included; summaries only, never a secret or its hash. */
export function listKeys(keys: KeyManagement): Handler<AppEnv> {
  return async function listKeys(c) {
    const body: ApiKeyListResponse = { keys: await keys.list() }
    return c.json(body)
  }
}

/**
 * `POST /v1/keys` (JSON `{ name, scopes, rate_limit_per_minute? }`): creates a key and answers 201 with its secret,
 * the only time it is shown (the answer is `Cache-Control: no-store`, like every answer of the edge).
 */
export function createKey(keys: KeyManagement): Handler<AppEnv> {
  return async function createKey(c) {
    const parsed = CreateApiKeyRequest.safeParse(await readJsonBody(c.req.raw, MAX_CREATE_KEY_BYTES))
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw invalidSpec(issue?.path.join('.') ?? '', issue?.message ?? 'not a key request', {
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      })
    }
    return c.json(await keys.create(parsed.data), 201)
  }
}

/** `POST /v1/keys/:id/revoke`: revokes a key, refused from the next request on; again: 200 with the first revocation. 404 for an unknown id. */
export function revokeKey(keys: KeyManagement): Handler<AppEnv, '/v1/keys/:id/revoke'> {
  return async function revokeKey(c) {
    const id = c.req.param('id')
    const revoked = await keys.revoke(id)
    if (!revoked?.revoked_at) throw new ApiError('not_found', `no API key ${JSON.stringify(id.slice(0, 100))} (see GET /v1/keys)`)
    const body: RevokedApiKey = { ...revoked, revoked_at: revoked.revoked_at }
    return c.json(body)
  }
}
