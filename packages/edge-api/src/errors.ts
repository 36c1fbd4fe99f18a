import { ERROR_STATUS, type ErrorCode, type ErrorResponse } from '@genimage/shared'
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { AppEnv } from './app-env.ts'

/** A client-visible failure with a stable code; the status follows from the code. */
export class ApiError extends HTTPException {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { image?: number; details?: Record<string, unknown>; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(ERROR_STATUS[code] as ContentfulStatusCode, { message, cause: extra.cause })
  }
}

/** The single error handler: every failure leaves as `{ error: { code, message }, request_id }`. */
export function errorHandler(error: Error, c: Context<AppEnv>): Response {
  const requestId: string | undefined = c.get('requestId')
  let apiError: ApiError
  if (error instanceof ApiError) apiError = error
  else if (error instanceof HTTPException && error.status === 413) apiError = new ApiError('payload_too_large', error.message)
  else if (error instanceof HTTPException && error.status < 500) apiError = new ApiError('invalid_request', error.message)
  else {
    console.error(JSON.stringify({ level: 'error', component: 'edge', request_id: requestId, msg: 'unhandled error', error: String(error?.stack ?? error) }))
    apiError = new ApiError('internal_error', 'internal error')
  }
  const body: ErrorResponse = {
    error: {
      code: apiError.code,
      message: apiError.message,
      ...(apiError.extra.image === undefined ? {} : { image: apiError.extra.image }),
      ...(apiError.extra.details ? { details: apiError.extra.details } : {}),
    },
    ...(requestId ? { request_id: requestId } : {}),
  }
  c.set('errorCode', apiError.code)
  if (apiError.extra.retryAfterSeconds !== undefined) c.header('retry-after', String(apiError.extra.retryAfterSeconds))
  return c.json(body, apiError.status)
}
