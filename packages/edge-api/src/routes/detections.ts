import { type DetectionsPage, DetectionsQuery } from '@genimage/shared'
import { decodeDetectionsCursor, type DetectionsOwner } from '@genimage/shared/db'
import type { Context, Handler } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { ApiError } from '../errors.ts'
import { hasScope } from '../keys/api-keys.ts'
import type { DetectionStore } from '../store/detection-store.ts'

/**
 * Whose detections the caller may list, as for experiments: an `admin` key every key's, another key its own, an
 * anonymous caller (a stack without keys) the anonymous ones. A `detect` key so sees what it asked, never what
 * other clients did (their image hashes, times and key names).
 */
function callerOwner(c: Context<AppEnv>): DetectionsOwner {
  const key = c.get('apiKey')
  if (!key) return null
  return hasScope(key, 'admin') ? undefined : key.id
}

/** The query string as the contract reads it, each problem named by its parameter; 400 `invalid_request`. */
function parseQuery(c: Context<AppEnv>): DetectionsQuery {
  const parsed = DetectionsQuery.safeParse(c.req.query())
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'query'}: ${issue.message}`)
    throw new ApiError('invalid_request', `invalid query: ${problems.join('; ')}`)
  }
  return parsed.data
}

/**
 * `GET /v1/detections`: recorded detections, newest first, one page of `limit` rows with the cursor of the next.
 * Filters: `model`, `verdict`, `since` (inclusive), `until` (exclusive). Rows name images by hash and size only.
 */
export function listDetections(store: DetectionStore): Handler<AppEnv> {
  return async function listDetections(c) {
    const { cursor, ...query } = parseQuery(c)
    const position = cursor === undefined ? undefined : decodeDetectionsCursor(cursor)
    if (cursor !== undefined && !position) {
      throw new ApiError('invalid_request', 'invalid query: cursor: not a cursor this API returned; pass `next_cursor` unchanged')
    }
    const page: DetectionsPage = await store.listDetections({ ...query, cursor: position, owner: callerOwner(c) })
    return c.json(page)
  }
}
