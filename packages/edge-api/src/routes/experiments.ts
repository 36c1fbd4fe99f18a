import type {
  CancelExperimentResponse,
  CreateExperimentResponse,
  ExperimentDetail,
  ExperimentListResponse,
  ExperimentSpec,
  ExperimentSummary,
} from '@genimage/shared'
import { type ExperimentOwner, isFinalState } from '@genimage/shared/db'
import type { PlannedRun } from '@genimage/shared/genimage'
import type { Context, Handler } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { AppEnv } from '../app-env.ts'
import type { EdgeConfig } from '../config.ts'
import { ApiError } from '../errors.ts'
import { invalidSpec, parseSpec, planExperiment, readJsonBody } from '../experiments/experiment-request.ts'
import { ProgressHub, type ProgressSnapshot, StreamSlots } from '../experiments/progress-hub.ts'
import { hasScope } from '../keys/api-keys.ts'
import type { Logger } from '../middleware/observe.ts'

/**
 * Where experiments live; the libSQL implementation is `libsqlExperimentStore`. Runners read the same rows.
 * `owner` limits a call to one key's experiments (`null`: those submitted anonymously; `undefined`: all).
 */
export interface ExperimentStore {
  /** Stores the experiment and its runs as queued jobs, recording the submitting key. */
  create(spec: ExperimentSpec, runs: readonly PlannedRun[], ownerKeyId: string | null): Promise<CreateExperimentResponse>
  list(limit: number, owner: ExperimentOwner): Promise<ExperimentSummary[]>
  get(id: string, owner: ExperimentOwner): Promise<ExperimentDetail | undefined>
  /** Cancels what is left of `id`; the answer's state is `succeeded` or `failed` when it had already ended (then nothing changed). */
  cancel(id: string, owner: ExperimentOwner): Promise<CancelExperimentResponse | undefined>
  /** Who submitted `id` (null: anonymous); undefined when there is no such experiment. */
  owner(id: string): Promise<{ ownerKeyId: string | null } | undefined>
  progress(id: string): Promise<ProgressSnapshot | undefined>
  /** How often a followed experiment is re-read from the database (default 500 ms), whatever the number of followers. */
  progressPollMs?: number
}

/** A comment line keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000

/** Whose experiments the caller may see: an `admin` key every one, another key its own, an anonymous caller the anonymous ones. */
function callerOwner(c: Context<AppEnv>): ExperimentOwner {
  const key = c.get('apiKey')
  if (!key) return null
  return hasScope(key, 'admin') ? undefined : key.id
}

const visibleTo = (owner: ExperimentOwner, ownerKeyId: string | null) => owner === undefined || owner === ownerKeyId

const noSuchExperiment = (id: string) => new ApiError('not_found', `no experiment ${id}`)

/**
 * `POST /v1/experiments`: validates a protocol against this deployment's limits, expands it into runs and stores
 * them as queued jobs owned by the calling key (201, with a summary: the runs are at `GET /v1/experiments/{id}`).
 */
export function createExperiment(store: ExperimentStore, config: EdgeConfig): Handler<AppEnv> {
  return async function createExperiment(c) {
    const spec = parseSpec(await readJsonBody(c.req.raw, config.maxExperimentSpecBytes))
    const runs = planExperiment(spec, { maxRuns: config.maxExperimentRuns, dataRoots: config.dataRoots })
    const created = await store.create(spec, runs, c.get('apiKey')?.id ?? null)
    c.header('location', `/v1/experiments/${created.id}`)
    return c.json(created, 201)
  }
}

/** `GET /v1/experiments?limit=`: the caller's experiments (every one for `admin`), newest first. */
export function listExperiments(store: ExperimentStore): Handler<AppEnv> {
  return async function listExperiments(c) {
    const limit = Number(c.req.query('limit') ?? 50)
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw invalidSpec('limit', 'an integer from 1 to 500')
    const body: ExperimentListResponse = { experiments: await store.list(limit, callerOwner(c)) }
    return c.json(body)
  }
}

/** `GET /v1/experiments/:id`: one experiment with its runs; 404 for an unknown id or another key's experiment. */
export function getExperiment(store: ExperimentStore): Handler<AppEnv, '/v1/experiments/:id'> {
  return async function getExperiment(c) {
    const id = c.req.param('id')
    const found = await store.get(id, callerOwner(c))
    if (!found) throw noSuchExperiment(id)
    return c.json(found)
  }
}

/**
 * `POST /v1/experiments/:id/cancel`: cancels the caller's experiment while it has runs left (again: 200, nothing
 * changes); 409 `experiment_finished` once it succeeded or failed, its state kept; 404 for another key's.
 */
export function cancelExperiment(store: ExperimentStore): Handler<AppEnv, '/v1/experiments/:id/cancel'> {
  return async function cancelExperiment(c) {
    const id = c.req.param('id')
    const outcome = await store.cancel(id, callerOwner(c))
    if (!outcome) throw noSuchExperiment(id)
    if (outcome.state !== 'cancelled') {
      throw new ApiError('experiment_finished', `experiment ${id} already ${outcome.state}; there is nothing to cancel`, {
        details: { state: outcome.state },
      })
    }
    return c.json(outcome)
  }
}

/**
 * `GET /v1/experiments/:id/events`: progress as Server-Sent Events, one `progress` event per change and an `end`
 * event at a final state. One poller per experiment serves every stream following it (`ProgressHub`); a key may
 * hold `maxEventStreamsPerKey` streams (anonymous callers share one allowance), more get 429 `rate_limited`.
 */
export function followExperiment(store: ExperimentStore, config: EdgeConfig, log?: Logger): Handler<AppEnv, '/v1/experiments/:id/events'> {
  const hub = new ProgressHub({
    read: (id) => store.progress(id),
    pollMs: store.progressPollMs,
    onError: (id, error) => log?.({ level: 'warn', msg: 'progress poll failed; retrying', experiment: id, error: String(error) }),
  })
  const slots = new StreamSlots(config.maxEventStreamsPerKey)
  return async function followExperiment(c) {
    const id = c.req.param('id')
    const found = await store.owner(id)
    if (!found || !visibleTo(callerOwner(c), found.ownerKeyId)) throw noSuchExperiment(id)
    const caller = c.get('apiKeyId') ?? 'anonymous'
    if (!slots.take(caller)) {
      throw new ApiError('rate_limited', `${slots.limitPerCaller} progress streams are open for this key; close one first`, {
        retryAfterSeconds: 5,
        details: { limit: slots.limitPerCaller },
      })
    }
    return streamSSE(c, async (stream) => {
      let latest: ProgressSnapshot | undefined
      let gone = false
      let wake: (() => void) | undefined
      const unsubscribe = hub.subscribe(id, (snapshot) => {
        if (snapshot) latest = snapshot
        else gone = true
        wake?.()
      })
      stream.onAbort(() => wake?.())
      try {
        let sent = ''
        let sequence = 0
        while (!stream.aborted && !gone) {
          const current = latest
          if (current && current.version !== sent) {
            sent = current.version
            await stream.writeSSE({ event: 'progress', id: String(++sequence), data: JSON.stringify(current.event) })
            if (isFinalState(current.event.state)) {
              await stream.writeSSE({ event: 'end', data: JSON.stringify({ id, state: current.event.state }) })
              return
            }
            continue
          }
          const woken = await new Promise<boolean>((done) => {
            const timer = setTimeout(() => done(false), KEEPALIVE_MS)
            wake = () => {
              clearTimeout(timer)
              done(true)
            }
          })
          wake = undefined
          if (!woken && !stream.aborted) await stream.write(': keep-alive\n\n')
        }
      } finally {
        unsubscribe()
        slots.release(caller)
      }
    })
  }
}
