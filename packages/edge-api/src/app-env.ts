import type { ApiKeyRecord } from './keys/api-keys.ts'

/**
 * The Hono environment of the edge app: what middlewares put on the context for later handlers, the error
 * handler and the request log. Middlewares are built with `createMiddleware<AppEnv>`, so `c.set`/`c.get` are typed.
 */
export type AppEnv = {
  Variables: {
    /** From `x-request-id` when it is safe to echo, otherwise a fresh UUID. */
    requestId: string
    /** The authenticated key, set by `apiKeyAuth`; absent for anonymous requests. */
    apiKey?: ApiKeyRecord
    apiKeyId?: string
    /** The code of the error answered, set by the error handler. */
    errorCode?: string
    /** The runner that served a detect request. */
    runner?: string
  }
}
