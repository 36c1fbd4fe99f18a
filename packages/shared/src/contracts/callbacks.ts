import { z } from 'zod'

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` on every callback attempt. */
export const CALLBACK_SIGNATURE_HEADER = 'Genimage-Signature'
/** Header carrying the delivery's id: the same on every attempt of one callback, so receivers can drop duplicates. */
export const CALLBACK_DELIVERY_HEADER = 'Genimage-Delivery'
/** Header carrying the attempt's number (1 for the first). */
export const CALLBACK_ATTEMPT_HEADER = 'Genimage-Delivery-Attempt'
/** Header carrying the async detect job's id. */
export const CALLBACK_JOB_HEADER = 'Genimage-Job'

/** Where a job's callback stands, as `GET /v1/detect/jobs/{id}` shows it. */
export const CallbackDeliveryStatus = z
  .object({
    id: z.string().describe('the idempotency id sent as `Genimage-Delivery` on every attempt'),
    state: z
      .enum(['pending', 'delivered', 'failed'])
      .describe('`pending`: the next attempt is due at `next_attempt_at`; `delivered`: the receiver answered 2xx; `failed`: every attempt was used'),
    attempts: z.number().int().nonnegative(),
    next_attempt_at: z.string().nullable().describe('ISO time of the next attempt while pending'),
    last_status: z.number().int().nullable().describe("the receiver's HTTP status on the last attempt, null when it was not reached"),
    last_error: z.string().nullable(),
    delivered_at: z.string().nullable(),
  })
  .describe('the signed result callback of an async job (only with `callback_url`)')
export type CallbackDeliveryStatus = z.infer<typeof CallbackDeliveryStatus>
