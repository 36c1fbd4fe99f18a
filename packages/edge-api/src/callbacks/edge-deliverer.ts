import { type Db, findCallbackSecret } from '@genimage/shared/db'
import type { EdgeEnvironment } from '../config.ts'
import type { ResolveHost } from '../inputs/url-fetch.ts'
import { jsonLogger } from '../middleware/observe.ts'
import { DEFAULT_RETRY_POLICY } from './deliverer.ts'
import { type CallbackDeliverer, startCallbackDeliverer } from './index.ts'

/**
 * The callback deliverer of an edge process over its libSQL database, configured from the environment
 * (CALLBACK_ALLOWED_HOSTS, CALLBACK_SIGNING_SECRET, CALLBACK_RETRY_BASE_MS, CALLBACK_MAX_ATTEMPTS, CALLBACK_TIMEOUT_MS).
 * Started by the Node and Deno entries; workerd has no long-running loop, so deliveries wait for an edge that has one.
 */
export function startEdgeCallbackDeliverer(
  db: Db,
  settings: EdgeEnvironment,
  platform: { resolveHost: ResolveHost; fetchFor(allowPrivate: boolean): typeof fetch },
): CallbackDeliverer {
  const { retryBaseMs, maxAttempts, timeoutMs } = settings.callbackDelivery
  return startCallbackDeliverer({
    db,
    secretFor: async (apiKeyId) => (apiKeyId === null ? settings.config.callbackSigningSecret : await findCallbackSecret(db, apiKeyId)),
    urlRules: { allowedHosts: settings.config.callbackAllowedHosts, resolveHost: platform.resolveHost },
    fetchFor: platform.fetchFor,
    retry: { ...DEFAULT_RETRY_POLICY, ...(retryBaseMs ? { baseMs: retryBaseMs } : {}), ...(maxAttempts ? { maxAttempts } : {}) },
    ...(timeoutMs ? { timeoutMs } : {}),
    log: jsonLogger(settings.logLevel),
  })
}
