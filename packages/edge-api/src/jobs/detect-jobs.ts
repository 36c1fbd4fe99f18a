import {
  createDetectJob,
  type Db,
  type DetectJobItemRow,
  type DetectJobRow,
  detectJobsAwaitingCallback,
  detectJobsToFinish,
  dueDetectJobItems,
  findCallbackDeliveryForJob,
  finishDetectJob,
  getDetectJob,
  markDetectJobCallbackEnqueued,
  nextDetectJobItemDue,
  readDetectJobItems,
  spooledDetectJobs,
} from '@genimage/shared/db'
import type { ResolvedDeps } from '../app.ts'
import { ApiError } from '../errors.ts'
import type { Logger } from '../middleware/observe.ts'
import type { AdmittedScorer } from '../routes/detect.ts'
import { type ChunkScoring, scoreDueItems } from './chunk-scorer.ts'
import type { AcceptedImages } from './job-request.ts'
import { jobStatusBody } from './job-status.ts'
import type { DetectSpool } from './spool.ts'

/** What the edge needs of the callback module (packages/edge-api/src/callbacks) to let jobs call back. */
export interface CallbackHooks {
  /**
   * Checks a `callback_url` before its job is accepted: 400 `callback_url_not_allowed` for a URL the edge must not
   * call, 400 `invalid_request` when nothing could sign the callback of this key (or of an anonymous job).
   */
  check(url: string, apiKeyId: string | null): Promise<URL>
  /** Stores the delivery of a finished job's body; the deliverer signs, sends and retries it. */
  enqueue(db: Db, delivery: { jobId: string; apiKeyId: string | null; url: string; body: unknown }): Promise<{ id: string }>
}

export interface DetectJobsOptions {
  db: Db
  spool: DetectSpool
  /** Without them a `callback_url` is refused with 400 `callback_url_not_allowed`. */
  callbacks?: CallbackHooks
  log?: Logger
  /** Most images per runner call (default: the edge's `maxImagesPerRequest`). */
  chunkImages?: number
  /** How often the worker looks for work when nothing woke it (default 5000 ms). */
  idlePollMs?: number
  /** Transient failures (runner busy, down, slow) an image survives before it fails with that error (default 12). */
  maxAttempts?: number
  clock?: () => Date
}

/**
 * Async detect jobs on one edge: accepts them into the spool and the database, and scores them in the background
 * through the same admission slots, runner pool and answer code as `POST /v1/detect` (bound by the detect route).
 * On start it resumes what the spool and the job rows say is unfinished; images are scored at least once, but an
 * image's detections go into the database in the same transaction that marks it done, so none is recorded twice.
 * @example const jobs = new DetectJobs({ db, spool: await openFileSpool({ dir, maxBytes }) }); createApp({ ..., detectJobs: jobs }); await jobs.start()
 */
export class DetectJobs {
  private deps?: ResolvedDeps
  private scorer?: AdmittedScorer
  private readonly stopping = new AbortController()
  private running?: Promise<void>
  private woken = false
  private wakeUp?: () => void

  constructor(private readonly options: DetectJobsOptions) {}

  get spool(): DetectSpool {
    return this.options.spool
  }

  /** Gives the worker the app's scoring path; called once by the detect route when the app is built. */
  bind(deps: ResolvedDeps, scorer: AdmittedScorer): void {
    this.deps = deps
    this.scorer = scorer
  }

  /** Stores a job: its callback URL checked, its images spooled (503 `spool_full` when they do not fit), its rows written. */
  async accept(request: { id: string; apiKeyId: string | null; correlationId: string | null; images: AcceptedImages }): Promise<DetectJobRow> {
    const { db, spool, callbacks } = this.options
    const { id, images } = request
    if (images.callbackUrl !== null) {
      if (!callbacks) throw new ApiError('callback_url_not_allowed', 'this deployment does not deliver callbacks')
      await callbacks.check(images.callbackUrl, request.apiKeyId)
    }
    await spool.put(id, images.spooled)
    const job = {
      id,
      apiKeyId: request.apiKeyId,
      correlationId: request.correlationId,
      spoolId: spool.id,
      models: images.models,
      callbackUrl: images.callbackUrl,
      createdAt: this.now(),
    }
    try {
      await createDetectJob(db, job, images.items)
    } catch (error) {
      await spool.removeJob(id)
      throw error
    }
    this.wake()
    const stored = await getDetectJob(db, id)
    if (!stored) throw new Error(`detect job ${id} was not stored`)
    return stored
  }

  /** One job and a page of its items from position `from`, or undefined (also when `owner` does not own it). */
  async read(id: string, owner: string | null | undefined, from: number, limit: number) {
    const job = await getDetectJob(this.options.db, id, owner)
    if (!job) return undefined
    const items = await readDetectJobItems(this.options.db, id, from, limit)
    const callback = job.callbackUrl ? await findCallbackDeliveryForJob(this.options.db, id) : undefined
    return jobStatusBody(job, items, { from, limit, now: this.now(), ...(callback ? { callback } : {}) })
  }

  /** Resumes unfinished work, then scores in the background until `close`. */
  async start(): Promise<void> {
    if (!this.scorer) throw new Error('DetectJobs.start: no app was built with these jobs (createApp binds the detect route)')
    await this.resume()
    this.running = this.work()
  }

  /** Stops the worker; images in flight stay queued and are scored after the next start. */
  async close(): Promise<void> {
    this.stopping.abort()
    this.wake()
    await this.running
  }

  /** Makes the worker look for work now. */
  wake(): void {
    this.woken = true
    this.wakeUp?.()
  }

  private now(): Date {
    return this.options.clock?.() ?? new Date()
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, extra: Record<string, unknown> = {}): void {
    ;(this.options.log ?? this.deps?.log)?.({ level, msg, component: 'detect-jobs', ...extra })
  }

  /** Deletes spooled bytes nothing waits for (half-accepted jobs, finished images), ends jobs whose last image was recorded. */
  private async resume(): Promise<void> {
    const { db, spool } = this.options
    const known = await spooledDetectJobs(db, spool.id)
    for (const [jobId, positions] of await spool.list()) {
      const job = known.get(jobId)
      if (!job || job.state === 'done' || job.state === 'failed') await spool.removeJob(jobId)
      else for (const idx of positions) if (!job.queued.has(idx)) await spool.remove(jobId, idx)
    }
    for (const id of await detectJobsToFinish(db, spool.id)) await this.finish(id)
    for (const job of await detectJobsAwaitingCallback(db, spool.id)) await this.callBack(job)
    const unfinished = [...known.values()].filter((job) => job.state === 'queued' || job.state === 'running').length
    if (unfinished > 0) this.log('info', `resuming ${unfinished} unfinished detect jobs from the spool`, { spool: spool.id })
  }

  private async work(): Promise<void> {
    const { db, spool } = this.options
    const signal = this.stopping.signal
    const chunk = this.options.chunkImages ?? this.deps?.config.maxImagesPerRequest ?? 16
    const idleMs = this.options.idlePollMs ?? 5000
    while (!signal.aborted) {
      this.woken = false
      let waitMs = 0
      try {
        const items = await dueDetectJobItems(db, spool.id, this.now(), chunk)
        if (items.length > 0) {
          await scoreDueItems(this.scoring(), items)
          await this.finish((items[0] as DetectJobItemRow).jobId)
        } else {
          const due = await nextDetectJobItemDue(db, spool.id)
          waitMs = due ? Math.min(idleMs, Math.max(10, due.getTime() - this.now().getTime())) : idleMs
        }
      } catch (error) {
        if (signal.aborted) break
        this.log('error', 'detect job worker failed; retrying in 1 s', { error: String(error) })
        waitMs = 1000
      }
      if (waitMs > 0 && !this.woken) await this.idle(waitMs)
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((done) => {
      const finish = () => {
        clearTimeout(timer)
        this.wakeUp = undefined
        done()
      }
      const timer = setTimeout(finish, ms)
      this.wakeUp = finish
    })
  }

  private scoring(): ChunkScoring {
    return {
      db: this.options.db,
      spool: this.options.spool,
      deps: this.deps as ResolvedDeps,
      scorer: this.scorer as AdmittedScorer,
      signal: this.stopping.signal,
      maxAttempts: this.options.maxAttempts ?? 12,
      now: () => this.now(),
      warn: (msg, extra) => this.log('warn', msg, extra),
    }
  }

  /** Ends the job when no image is left queued, deletes its spool folder and enqueues its callback. */
  private async finish(jobId: string): Promise<void> {
    const ended = await finishDetectJob(this.options.db, jobId, this.now())
    if (!ended) return
    await this.options.spool.removeJob(jobId)
    this.log('info', `detect job ${ended.state}`, { job: jobId, scored: ended.scored, failed: ended.failed })
    await this.callBack(ended)
  }

  /** Enqueues the callback of an ended job once: the delivery table holds one delivery per job. */
  private async callBack(job: DetectJobRow): Promise<void> {
    const { db, callbacks } = this.options
    if (!job.callbackUrl || !callbacks || job.callbackEnqueued) return
    const items = await readDetectJobItems(db, job.id, 0, job.total)
    const body = jobStatusBody(job, items, { from: 0, limit: Math.max(1, job.total), now: this.now() })
    try {
      await callbacks.enqueue(db, { jobId: job.id, apiKeyId: job.apiKeyId, url: job.callbackUrl, body })
    } catch (error) {
      // A delivery already stored for this job (a crash came after enqueueing) is the one to keep.
      if (!/unique/i.test(String(error))) {
        this.log('error', 'callback could not be enqueued; the next start tries again', { job: job.id, error: String(error) })
        return
      }
    }
    await markDetectJobCallbackEnqueued(db, job.id)
  }
}
