import type { CancelExperimentResponse, ExperimentDetail, ExperimentListResponse, ExperimentProgressEvent, ExperimentSummary } from '@genimage/shared'
import { ExperimentSpec } from '@genimage/shared'
import { isFinalState } from '@genimage/shared/db'
import { expandProtocol, type PlannedRun, ProtocolError } from '@genimage/shared/genimage'
import type { Handler } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { AppEnv } from '../app-env.ts'
import { ApiError } from '../errors.ts'

/** Where experiments live; the libSQL implementation is `libsqlExperimentStore`. Runners read the same rows. */
export interface ExperimentStore {
  create(spec: ExperimentSpec, runs: readonly PlannedRun[]): Promise<string>
  list(limit: number): Promise<ExperimentSummary[]>
  get(id: string): Promise<ExperimentDetail | undefined>
  cancel(id: string): Promise<CancelExperimentResponse | undefined>
  progress(id: string): Promise<{ event: ExperimentProgressEvent; version: string } | undefined>
  /** How often a progress stream re-reads the database (default 500 ms). */
  progressPollMs?: number
}

/** A comment line keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000

function invalidSpec(field: string, message: string, issues?: unknown): ApiError {
  return new ApiError('invalid_request', `${field || 'body'}: ${message}`, { details: { field: field || 'body', ...(issues ? { issues } : {}) } })
}

async function readSpec(request: Request): Promise<ExperimentSpec> {
  let body: unknown
  try {
    body = await request.json()
  } catch {
    throw invalidSpec('body', 'expected a JSON object (content-type: application/json)')
  }
  const parsed = ExperimentSpec.safeParse(body)
  if (!parsed.success) {
    const first = parsed.error.issues[0]!
    const field = first.path.map(String).join('.')
    const message = first.code === 'unrecognized_keys' ? `unknown field(s) ${first.keys.join(', ')}` : first.message
    return Promise.reject(
      invalidSpec(
        field || (first.code === 'unrecognized_keys' ? first.keys.join(',') : ''),
        message,
        parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
      ),
    )
  }
  return parsed.data
}

/** `POST /v1/experiments`: validates a protocol, expands it into runs and stores them as queued jobs (201). */
export function createExperiment(store: ExperimentStore): Handler<AppEnv> {
  return async function createExperiment(c) {
    const spec = await readSpec(c.req.raw)
    let runs: PlannedRun[]
    try {
      runs = expandProtocol(spec)
    } catch (error) {
      if (error instanceof ProtocolError) throw invalidSpec(error.field, error.message.slice(error.field.length + 2))
      throw error
    }
    const id = await store.create(spec, runs)
    const created = await store.get(id)
    c.header('location', `/v1/experiments/${id}`)
    return c.json(created, 201)
  }
}

/** `GET /v1/experiments?limit=`: experiments, newest first. */
export function listExperiments(store: ExperimentStore): Handler<AppEnv> {
  return async function listExperiments(c) {
    const limit = Number(c.req.query('limit') ?? 50)
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw invalidSpec('limit', 'an integer from 1 to 500')
    const body: ExperimentListResponse = { experiments: await store.list(limit) }
    return c.json(body)
  }
}

/** Answers what `find` returns for the `:id` in the path, or 404 `not_found` when there is no such experiment. */
function experimentById(find: (id: string) => Promise<unknown>): Handler<AppEnv, '/v1/experiments/:id'> {
  return async function experimentById(c) {
    const id = c.req.param('id')
    const found = await find(id)
    if (!found) throw new ApiError('not_found', `no experiment ${id}`)
    return c.json(found)
  }
}

/** `GET /v1/experiments/:id`: one experiment with its runs. */
export const getExperiment = (store: ExperimentStore) => experimentById((id) => store.get(id))

/** `POST /v1/experiments/:id/cancel`. */
export const cancelExperiment = (store: ExperimentStore) => experimentById((id) => store.cancel(id))

/**
 * `GET /v1/experiments/:id/events`: progress as Server-Sent Events, one `progress` event per change and an `end`
 * event at a final state. All state lives in the store, so any edge instance can answer for any experiment.
 */
export function followExperiment(store: ExperimentStore): Handler<AppEnv, '/v1/experiments/:id/events'> {
  const pollMs = store.progressPollMs ?? 500
  return async function followExperiment(c) {
    const id = c.req.param('id')
    const first = await store.progress(id)
    if (!first) throw new ApiError('not_found', `no experiment ${id}`)
    return streamSSE(c, async (stream) => {
      let closed = false
      stream.onAbort(() => {
        closed = true
      })
      let version = ''
      let sequence = 0
      let lastWrite = Date.now()
      let current: typeof first | undefined = first
      while (!closed && current) {
        if (current.version !== version) {
          version = current.version
          await stream.writeSSE({ event: 'progress', id: String(++sequence), data: JSON.stringify(current.event) })
          lastWrite = Date.now()
          if (isFinalState(current.event.state)) {
            await stream.writeSSE({ event: 'end', data: JSON.stringify({ id, state: current.event.state }) })
            return
          }
        } else if (Date.now() - lastWrite > KEEPALIVE_MS) {
          await stream.write(': keep-alive\n\n')
          lastWrite = Date.now()
        }
        await stream.sleep(pollMs)
        current = await store.progress(id)
      }
    })
  }
}
