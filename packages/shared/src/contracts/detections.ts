import { z } from 'zod'
import { Verdict } from './detect.ts'

/** Most rows one `GET /v1/detections` page holds. */
export const DETECTIONS_PAGE_MAX = 500
/** Rows per page when the query does not say. */
export const DETECTIONS_PAGE_DEFAULT = 50

/** A time as an ISO 8601 string with a zone (`2026-12-03T09:00:00Z`, `2026-12-03T10:00:00+01:00`). */
const IsoTime = z.iso.datetime({ offset: true })

/**
 * The query of `GET /v1/detections` (and `genimage detections list`), newest first. Query-string values arrive
 * as text, so `limit` is coerced. `verdict` takes the API's `ai`/`real`, and `nature` (the label the models
 * use) as another name for `real`. `since` is inclusive, `until` exclusive. `cursor` is opaque: pass back the
 * previous page's `next_cursor` unchanged, with the same filters.
 */
export const DetectionsQuery = z
  .object({
    model: z.string().min(1).max(200).optional().describe('only detections by this model'),
    verdict: z
      .preprocess((value) => (value === 'nature' ? 'real' : value), Verdict)
      .optional()
      .describe('only this verdict: ai or real (nature, the label the models use, is taken for real)'),
    since: IsoTime.optional().describe('detections at or after this time (ISO 8601 with a zone)'),
    until: IsoTime.optional().describe('detections before this time (ISO 8601 with a zone)'),
    limit: z.coerce.number().int().min(1).max(DETECTIONS_PAGE_MAX).default(DETECTIONS_PAGE_DEFAULT).describe('rows in this page'),
    cursor: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9_-]+$/, { message: 'a cursor as the previous page returned it' })
      .optional()
      .describe("the previous page's next_cursor, unchanged (with the same filters)"),
  })
  .refine((query) => !query.since || !query.until || Date.parse(query.since) < Date.parse(query.until), {
    message: 'since must be before until',
    path: ['until'],
  })
export type DetectionsQuery = z.infer<typeof DetectionsQuery>

/**
 * One recorded detection as listed: what was decided, by which model, for whom, and how fast. The image is
 * named only by its size and sha256; its bytes and file name are never stored, so never listed.
 */
export const DetectionSummary = z.object({
  /** The image's detection id (`detection_id` in the detect answer). */
  id: z.string(),
  /** The edge's id for the request that held the image; several images of one request share it. */
  request_id: z.string(),
  /** What the client sent as `x-request-id`, when it sent one. */
  correlation_id: z.string().nullable(),
  /** When it was scored, ISO 8601 UTC. */
  time: z.string(),
  model: z.object({ name: z.string(), version: z.string() }),
  verdict: Verdict,
  /** The model's uncalibrated probability that the image is AI-generated. */
  ai_generated: z.number().min(0).max(1),
  /** The threshold the verdict used; null for detections recorded before it was stored. */
  threshold: z.number().nullable(),
  latency_ms: z.number().nonnegative(),
  image_bytes: z.number().int().nonnegative(),
  image_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The API key that asked, when there was one: its id, and its name while the key row exists. */
  key: z.object({ id: z.string(), name: z.string().nullable() }).nullable(),
  /** The runner that scored it. */
  runner: z.string().nullable(),
})
export type DetectionSummary = z.infer<typeof DetectionSummary>

/** Response of `GET /v1/detections`: one page, newest first; `next_cursor` is null on the last page. */
export const DetectionsPage = z.object({
  detections: z.array(DetectionSummary),
  next_cursor: z.string().nullable(),
})
export type DetectionsPage = z.infer<typeof DetectionsPage>
