import type { CancelExperimentResponse, ExperimentDetail, ExperimentListResponse, ExperimentProgressEvent, ExperimentSummary } from '@genimage/shared'
import { ExperimentSpec } from '@genimage/shared'
import { expandProtocol, type PlannedRun, ProtocolError } from '@genimage/shared/protocols'
import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { AppEnv } from '../app.ts'
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

const FINAL = new Set(['succeeded', 'failed', 'cancelled'])
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

/**
 * `/v1/experiments`: submit a protocol (validated, expanded into runs, stored as queued jobs), list, show,
 * cancel, and follow progress as Server-Sent Events. All state lives in the store, so an edge restart
 * loses nothing and any edge instance can answer for any experiment.
 */
export function experimentRoutes(store: ExperimentStore): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  const pollMs = store.progressPollMs ?? 500

  app.post('/', async (c) => {
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
  })

  app.get('/', async (c) => {
    const limit = Number(c.req.query('limit') ?? 50)
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw invalidSpec('limit', 'an integer from 1 to 500')
    const body: ExperimentListResponse = { experiments: await store.list(limit) }
    return c.json(body)
  })

  app.get('/:id', async (c) => {
    const experiment = await store.get(c.req.param('id'))
    if (!experiment) throw new ApiError('not_found', `no experiment ${c.req.param('id')}`)
    return c.json(experiment)
  })

  app.post('/:id/cancel', async (c) => {
    const result = await store.cancel(c.req.param('id'))
    if (!result) throw new ApiError('not_found', `no experiment ${c.req.param('id')}`)
    return c.json(result)
  })

  app.get('/:id/events', async (c) => {
    const id = c.req.param('id')
    const first = await store.progress(id)
    if (!first) throw new ApiError('not_found', `no experiment ${id}`)
    return streamSSE(c, async (stream) => {
      let closed = false
      stream.onAbort(() => void (closed = true))
      let version = ''
      let sequence = 0
      let lastWrite = Date.now()
      let current: typeof first | undefined = first
      while (!closed && current) {
        if (current.version !== version) {
          version = current.version
          await stream.writeSSE({ event: 'progress', id: String(++sequence), data: JSON.stringify(current.event) })
          lastWrite = Date.now()
          if (FINAL.has(current.event.state)) {
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
  })
  return app
}
