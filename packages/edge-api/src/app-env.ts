import type { ApiKeyRecord } from './keys/api-keys.ts'

/**
 * The Hono environment of the edge app: what middlewares put on the context for later handlers, the error
 * handler and the request log. Middlewares are built with `createMiddleware<AppEnv>`, so `c.set`/`c.get` are typed.
 */
export type AppEnv = {
  Variables: {
    /** The edge's own id for this request, a fresh UUID (answered as `x-request-id`). */
    requestId: string
    /** The client's `x-request-id` when valid, kept apart from `requestId` (answered as `x-correlation-id`). */
    correlationId?: string
    /** The authenticated key, set by `apiKeyAuth`; absent for anonymous requests. */
    apiKey?: ApiKeyRecord
    apiKeyId?: string
    /** The code of the error answered, set by the error handler. */
    errorCode?: string
    /** The runner that served a detect request. */
    runner?: string
  }
}
