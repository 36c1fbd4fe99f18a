import { DetectJobQuery } from '@genimage/shared'
import { decodeDetectJobCursor } from '@genimage/shared/db'
import type { Context, Handler } from 'hono'
import type { AppEnv } from '../app-env.ts'
import type { ResolvedDeps } from '../app.ts'
import { ApiError } from '../errors.ts'
import { type InflightBytes, readBoundedBody } from '../inputs/body-reader.ts'
import type { DetectJobs } from '../jobs/detect-jobs.ts'
import { readAsyncDetectBody } from '../jobs/job-request.ts'
import { acceptedBody, jobLocation } from '../jobs/job-status.ts'
import { hasScope } from '../keys/api-keys.ts'
import { requireServed } from './detect-admission.ts'

/**
 * The async half of `POST /v1/detect` (`?async=true` or `Prefer: respond-async`): reads the body (at most
 * `maxBatchRequestBytes`, within the in-flight byte budget), checks models and `callback_url`, spools the images and
 * stores the job, then answers 202 with `Location: /v1/detect/jobs/{id}`. Nothing is stored when any step fails.
 */
export async function acceptDetectJob(c: Context<AppEnv>, deps: ResolvedDeps, bodies: InflightBytes): Promise<Response> {
  const jobs = deps.detectJobs
  if (!jobs) return asyncNotSupported(c)
  const { config } = deps
  const maxBytes = Math.min(config.maxBatchRequestBytes, bodies.limit)
  const body = await readBoundedBody(c.req.raw, { maxBytes, timeoutMs: config.bodyTimeoutMs, budget: bodies, signal: c.req.raw.signal })
  try {
    const images = await readAsyncDetectBody(body.bytes, c.req.header('content-type') ?? '', config)
    await requireServed(deps, images.models)
    const job = await jobs.accept({
      id: c.get('requestId'),
      apiKeyId: c.get('apiKeyId') ?? null,
      correlationId: c.get('correlationId') ?? null,
      images,
    })
    c.header('location', jobLocation(job.id))
    if (/(^|[,;\s])respond-async($|[,;\s])/i.test(c.req.header('prefer') ?? '')) c.header('preference-applied', 'respond-async')
    return c.json(acceptedBody(job), 202)
  } finally {
    body.release()
  }
}

/** 501 `async_not_supported`: runtimes without a filesystem (Deno Deploy, workerd) have no spool, so no async detect. */
export function asyncNotSupported(_c: Context<AppEnv>): never {
  throw new ApiError(
    'async_not_supported',
    'async detect needs a spool on disk, which this deployment has not (the Node and Deno entries have one); send the request without async',
  )
}

/** Whose jobs the caller may read: an `admin` key every key's, another key its own, an anonymous caller the anonymous ones. */
function callerOwner(c: Context<AppEnv>): string | null | undefined {
  const key = c.get('apiKey')
  if (!key) return null
  return hasScope(key, 'admin') ? undefined : key.id
}

/**
 * `GET /v1/detect/jobs/{id}`: the job's state and progress and one page of its images (`cursor`, `limit`, by position).
 * Another key's job is 404 `not_found`, as a job that does not exist.
 */
export function getDetectJob(jobs: DetectJobs): Handler<AppEnv> {
  return async function getDetectJob(c) {
    const parsed = DetectJobQuery.safeParse(c.req.query())
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'query'}: ${issue.message}`)
      throw new ApiError('invalid_request', `invalid query: ${problems.join('; ')}`)
    }
    const { cursor, limit } = parsed.data
    const from = cursor === undefined ? 0 : decodeDetectJobCursor(cursor)
    if (from === undefined) throw new ApiError('invalid_request', 'invalid query: cursor: not a cursor this API returned; pass `next_cursor` unchanged')
    const status = await jobs.read(c.req.param('id') ?? '', callerOwner(c), from, limit)
    if (!status) throw new ApiError('not_found', 'no such detect job (or it belongs to another key)')
    return c.json(status)
  }
}
