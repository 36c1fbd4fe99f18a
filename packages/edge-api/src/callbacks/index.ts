/**
 * Signed callbacks of async detect jobs. How a route uses this module:
 * - before accepting a job with `callback_url`: `await checkCallbackUrl(url, { allowedHosts: config.callbackAllowedHosts,
 *   resolveHost })` (400 `callback_url_not_allowed`) and `await assertCallbackSignable(keys, apiKeyId,
 *   config.callbackSigningSecret)` (400 `invalid_request` when nothing could sign it);
 * - when the job is final and its answer stored: `await enqueueCallback(db, { jobId, apiKeyId, url, body })`;
 * - in the job's GET answer: `callbackDeliveryStatus(await findCallbackDeliveryForJob(db, jobId))` from `@genimage/shared/db`.
 * The Node and Deno entries run the deliverer (`edge-deliverer.ts`).
 */
import { type CallbackDeliveryRow, type Db, enqueueCallbackDelivery } from '@genimage/shared/db'
import { ApiError } from '../errors.ts'
import type { KeyStore } from '../keys/api-keys.ts'
import { type CallbackDeliverer, type CallbackDelivererOptions, startCallbackDeliverer as start } from './deliverer.ts'

export { type CallbackUrlRules, callbackHostKey, checkCallbackUrl, isAllowedCallbackHost } from './callback-url.ts'
export { type CallbackDeliverer, type CallbackDelivererOptions, DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelayMs } from './deliverer.ts'
export { signCallback, verifyCallbackSignature } from './signature.ts'

/** Deliverers running in this process: enqueueing wakes them, so a callback leaves at once instead of at the next poll. */
const running = new Set<CallbackDeliverer>()

/** Starts delivering queued callbacks (see deliverer.ts); the Node and Deno entries start one per edge process. */
export function startCallbackDeliverer(options: CallbackDelivererOptions): CallbackDeliverer {
  const deliverer = start(options)
  running.add(deliverer)
  return {
    wake: deliverer.wake,
    stop: async () => {
      running.delete(deliverer)
      await deliverer.stop()
    },
  }
}

/**
 * Queues the signed callback of a job that reached a final state; call it once the job's answer is stored. The
 * body is serialised now, so every attempt sends the same bytes. Idempotent per job: a second call (after a restart)
 * returns the first row.
 */
export async function enqueueCallback(db: Db, delivery: { jobId: string; apiKeyId: string | null; url: string; body: unknown }): Promise<CallbackDeliveryRow> {
  const row = await enqueueCallbackDelivery(db, { jobId: delivery.jobId, apiKeyId: delivery.apiKeyId, url: delivery.url, body: JSON.stringify(delivery.body) })
  for (const deliverer of running) deliverer.wake()
  return row
}

/**
 * Refuses a `callback_url` that could not be signed: a key made before callbacks existed has no callback secret, and
 * anonymous jobs need the edge's CALLBACK_SIGNING_SECRET. Call before accepting the job.
 * @throws ApiError `invalid_request` naming what to do.
 */
export async function assertCallbackSignable(keys: KeyStore, apiKeyId: string | null, signingSecret: string | undefined): Promise<void> {
  if (apiKeyId === null) {
    if (!signingSecret) {
      throw new ApiError('invalid_request', 'callbacks of requests without an API key are signed with CALLBACK_SIGNING_SECRET, which this edge does not have')
    }
    return
  }
  if (!(await keys.callbackSecret?.(apiKeyId))) {
    throw new ApiError('invalid_request', 'this API key has no callback secret (it was created before callbacks existed): create a new key to use callback_url')
  }
}
