import { z } from 'zod'

/** Every client-visible error carries one of these stable, machine-readable codes. */
export const ErrorCode = z.enum([
  'invalid_request',
  'missing_image',
  'unsupported_media_type',
  'payload_too_large',
  'image_too_large',
  'corrupt_image',
  'model_not_found',
  /** No model was named and the default is not explicit: several cards claim `default`, or none does among several models. */
  'default_model_ambiguous',
  'no_runner_available',
  'runner_error',
  'queue_full',
  'unauthorized',
  'forbidden',
  'rate_limited',
  'not_found',
  'internal_error',
  'url_not_allowed',
  'url_fetch_failed',
  /** A `callback_url` that is not http(s), carries credentials, or reaches a private address not in CALLBACK_ALLOWED_HOSTS. */
  'callback_url_not_allowed',
  /** The experiment already ended (succeeded or failed): there is nothing left to cancel and its state is kept. */
  'experiment_finished',
  /** The request body did not arrive within the edge's body deadline (BODY_TIMEOUT_MS). */
  'request_timeout',
  /** The runner did not answer within the edge's runner deadline; the runner is slow, not gone. */
  'runner_timeout',
  /** The edge's in-flight bytes are at its memory budget (EDGE_MEMORY_BUDGET_BYTES); retry after `Retry-After`. */
  'server_busy',
  /** The client closed the connection before the answer (logged and counted, never seen by the client). */
  'client_closed',
  /** Async detect (`?async=true`) needs a spool on disk, which this deployment (Deno Deploy, workerd) does not have. */
  'async_not_supported',
  /** The edge's spool of async images is at its byte cap (SPOOL_MAX_BYTES); retry after `Retry-After`. */
  'spool_full',
  /** An async detect job holds more images than a batch may (1,000). */
  'batch_too_large',
])
export type ErrorCode = z.infer<typeof ErrorCode>

/** HTTP status each code is answered with. */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  missing_image: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  image_too_large: 422,
  corrupt_image: 422,
  model_not_found: 404,
  default_model_ambiguous: 409,
  no_runner_available: 503,
  runner_error: 502,
  queue_full: 429,
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
  not_found: 404,
  internal_error: 500,
  url_not_allowed: 400,
  url_fetch_failed: 422,
  callback_url_not_allowed: 400,
  experiment_finished: 409,
  request_timeout: 408,
  runner_timeout: 504,
  server_busy: 503,
  client_closed: 499,
  async_not_supported: 501,
  spool_full: 503,
  batch_too_large: 413,
}

/** The one JSON error shape of the public API. */
export const ErrorResponse = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    /** Index of the offending `image` part in a multi-image request. */
    image: z.number().int().nonnegative().optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
  request_id: z.string().optional(),
})
export type ErrorResponse = z.infer<typeof ErrorResponse>
