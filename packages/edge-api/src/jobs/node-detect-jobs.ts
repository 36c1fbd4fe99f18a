import type { Db } from '@genimage/shared/db'
import { assertCallbackSignable, checkCallbackUrl, enqueueCallback } from '../callbacks/index.ts'
import type { EdgeEnvironment } from '../config.ts'
import type { ResolveHost } from '../inputs/url-fetch.ts'
import { jsonLogger } from '../middleware/observe.ts'
import { libsqlKeyStore } from '../store/libsql-keys.ts'
import { DetectJobs } from './detect-jobs.ts'
import { openFileSpool } from './file-spool.ts'

/**
 * Async detect jobs for an edge with a filesystem (the Node entry): the spool in SPOOL_DIR (at most SPOOL_MAX_BYTES),
 * callbacks checked and enqueued through the callback module. Pass it to the app, then `start()` it once the app is
 * built; `close()` it before closing the database.
 */
export async function openNodeDetectJobs(db: Db, settings: EdgeEnvironment, resolveHost: ResolveHost): Promise<DetectJobs> {
  const spool = await openFileSpool({ dir: settings.spool.dir, maxBytes: settings.spool.maxBytes })
  const keys = libsqlKeyStore(db)
  const { config } = settings
  return new DetectJobs({
    db,
    spool,
    log: jsonLogger(settings.logLevel),
    callbacks: {
      async check(url, apiKeyId) {
        const checked = await checkCallbackUrl(url, { allowedHosts: config.callbackAllowedHosts, resolveHost })
        await assertCallbackSignable(keys, apiKeyId, config.callbackSigningSecret)
        return checked
      },
      enqueue: enqueueCallback,
    },
  })
}
