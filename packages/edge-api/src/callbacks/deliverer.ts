import { CALLBACK_ATTEMPT_HEADER, CALLBACK_DELIVERY_HEADER, CALLBACK_JOB_HEADER, CALLBACK_SIGNATURE_HEADER } from '@genimage/shared'
import { type CallbackDeliveryRow, claimDueCallbackDeliveries, type Db, recordCallbackAttempt } from '@genimage/shared/db'
import type { Logger } from '../middleware/observe.ts'
import { type CallbackUrlRules, checkCallbackUrl, isAllowedCallbackHost } from './callback-url.ts'
import { signCallback } from './signature.ts'

/** How a failed delivery is retried: the n-th retry waits `baseMs · 2^(n−1)` (±20%), at most `maxDelayMs`. */
export interface RetryPolicy {
  /** Wait before the first retry (CALLBACK_RETRY_BASE_MS, default 2 s). */
  baseMs: number
  /** Longest wait between two attempts (default 1 hour). */
  maxDelayMs: number
  /** Attempts in all, the first included (CALLBACK_MAX_ATTEMPTS, default 15: about 4 hours of retries). */
  maxAttempts: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 2000, maxDelayMs: 3_600_000, maxAttempts: 15 }

/** The wait after failed attempt number `attempt` (1-based), jittered by `random()` in [0, 1). */
export function retryDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const plain = Math.min(policy.maxDelayMs, policy.baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(plain * (0.8 + 0.4 * random()))
}

export interface CallbackDelivererOptions {
  db: Db
  /** The signing secret for a job's key (null: an anonymous job); undefined fails the delivery (nothing to sign with). */
  secretFor(apiKeyId: string | null): Promise<string | undefined>
  /** Host rules, checked again before every attempt (DNS may have changed since the job was accepted). */
  urlRules: CallbackUrlRules
  /**
   * The HTTP client for one attempt. `allowPrivate` is true only for CALLBACK_ALLOWED_HOSTS; otherwise the client
   * must refuse private addresses at connect time (Node: `createPinnedFetch()`). It must not follow redirects.
   */
  fetchFor(allowPrivate: boolean): typeof fetch
  retry?: RetryPolicy
  /** Deadline of one attempt, response headers included (CALLBACK_TIMEOUT_MS, default 10 s). */
  timeoutMs?: number
  /** How often due deliveries are looked for (default 500 ms). */
  pollMs?: number
  /** Attempts in flight at once (default 8). */
  concurrency?: number
  log?: Logger
  clock?: () => number
}

export interface CallbackDeliverer {
  /** Looks for due deliveries now instead of at the next poll (call after enqueueing). */
  wake(): void
  /** Stops polling and waits for the attempts in flight; unfinished ones are retried by the next edge to start. */
  stop(): Promise<void>
}

/**
 * Delivers queued callbacks until stopped: each due row is claimed with a lease, checked against the host rules,
 * signed, POSTed; a 2xx marks it delivered, anything else (status, network error, timeout, redirect) schedules the
 * next attempt by the retry policy until its attempts are used. All state is in the database, so a killed edge
 * loses nothing: an attempt it had in flight is retried once its lease runs out (hence at-least-once, and the
 * `Genimage-Delivery` id for receivers to drop duplicates).
 */
export function startCallbackDeliverer(options: CallbackDelivererOptions): CallbackDeliverer {
  const retry = options.retry ?? DEFAULT_RETRY_POLICY
  const timeoutMs = options.timeoutMs ?? 10_000
  const pollMs = options.pollMs ?? 500
  const concurrency = options.concurrency ?? 8
  const clock = options.clock ?? Date.now
  const log = options.log ?? (() => {})
  const inFlight = new Set<Promise<void>>()
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let polling: Promise<void> | undefined

  async function attempt(row: CallbackDeliveryRow): Promise<void> {
    const now = () => new Date(clock())
    let status: number | null = null
    let error: string | null = null
    try {
      const secret = await options.secretFor(row.apiKeyId)
      if (!secret) {
        await recordCallbackAttempt(options.db, row.id, { delivered: false, status: null, error: 'no signing secret for this job', retryAt: null, now: now() })
        log({ level: 'warn', msg: 'callback failed: no signing secret', delivery_id: row.id, job_id: row.jobId })
        return
      }
      const url = await checkCallbackUrl(row.url, options.urlRules)
      const signature = await signCallback(secret, row.body, clock() / 1000)
      const response = await options.fetchFor(isAllowedCallbackHost(url, options.urlRules.allowedHosts))(url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'genimage-callbacks/1',
          [CALLBACK_SIGNATURE_HEADER]: signature,
          [CALLBACK_DELIVERY_HEADER]: row.id,
          [CALLBACK_ATTEMPT_HEADER]: String(row.attempts),
          [CALLBACK_JOB_HEADER]: row.jobId,
        },
        body: row.body,
      })
      status = response.status
      await response.body?.cancel().catch(() => {})
      if (status >= 200 && status < 300) {
        await recordCallbackAttempt(options.db, row.id, { delivered: true, status, error: null, retryAt: null, now: now() })
        log({ level: 'info', msg: 'callback delivered', delivery_id: row.id, job_id: row.jobId, attempt: row.attempts, status })
        return
      }
      error = status >= 300 && status < 400 ? `the receiver answered ${status} (callbacks do not follow redirects)` : `the receiver answered ${status}`
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught)
    }
    const retryAt = row.attempts >= retry.maxAttempts ? null : new Date(clock() + retryDelayMs(row.attempts, retry))
    await recordCallbackAttempt(options.db, row.id, { delivered: false, status, error, retryAt, now: now() })
    log({
      level: 'warn',
      msg: retryAt ? 'callback attempt failed; will retry' : 'callback failed; no attempts left',
      delivery_id: row.id,
      job_id: row.jobId,
      attempt: row.attempts,
      status,
      error,
      ...(retryAt ? { retry_at: retryAt.toISOString() } : {}),
    })
  }

  async function poll(): Promise<void> {
    const free = concurrency - inFlight.size
    if (free <= 0) return
    // The lease outlasts an attempt's deadline, so a live edge never sees its own attempt claimed a second time.
    const rows = await claimDueCallbackDeliveries(options.db, { now: new Date(clock()), leaseMs: timeoutMs + 30_000, limit: free })
    for (const row of rows) {
      const running: Promise<void> = attempt(row)
        .catch((caught) => log({ level: 'error', msg: 'callback attempt could not be recorded', delivery_id: row.id, error: String(caught) }))
        .finally(() => {
          inFlight.delete(running)
          if (!stopped) wake()
        })
      inFlight.add(running)
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return
    clearTimeout(timer)
    timer = setTimeout(wake, delayMs)
  }

  function wake(): void {
    if (stopped || polling) return
    polling = poll()
      .catch((caught) => log({ level: 'error', msg: 'looking for due callbacks failed', error: String(caught) }))
      .finally(() => {
        polling = undefined
        schedule(pollMs)
      })
  }

  wake()
  return {
    wake,
    async stop() {
      stopped = true
      clearTimeout(timer)
      await polling
      await Promise.allSettled([...inFlight])
    },
  }
}
