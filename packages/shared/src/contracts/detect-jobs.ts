import { z } from 'zod'
import { CallbackDeliveryStatus } from './callbacks.ts'
import { DetectedImage, DetectForm, DetectModel, DetectResponse, ThresholdSource } from './detect.ts'
import { ErrorCode } from './errors.ts'

/** The most images one async detect job (a batch) may hold; more is 413 `batch_too_large` before anything is spooled. */
export const DETECT_BATCH_MAX_IMAGES = 1000

/** `queued` (accepted, nothing scored yet), `running`, `done` (every image scored or failed), `failed` (no image could be scored). */
export const DetectJobState = z.enum(['queued', 'running', 'done', 'failed'])
export type DetectJobState = z.infer<typeof DetectJobState>

/** The query string of `POST /v1/detect`: `async=true` (or the header `Prefer: respond-async`) makes it a job. */
export const DetectQuery = z.object({
  async: z
    .enum(['true', 'false'])
    .optional()
    .describe('true: accept the images as a job (202 with its id) instead of answering the scores; the header `Prefer: respond-async` does the same'),
})
export type DetectQuery = z.infer<typeof DetectQuery>

/** The JSON body an async detect job may be made of instead of multipart: a list of image URLs for the edge to fetch. */
export const DetectUrlBatch = z.object({
  urls: z
    .array(z.url({ protocol: /^https?$/ }).max(2048))
    .min(1)
    .describe(`http(s) URLs of the images, at most ${DETECT_BATCH_MAX_IMAGES}; each is fetched by the edge when its turn comes (needs EDGE_ALLOW_URL_INPUT)`),
  model: DetectForm.shape.model,
  callback_url: z.string().max(2048).optional().describe('where the finished job is POSTed, signed (see the README); the same rules as URL input'),
})
export type DetectUrlBatch = z.infer<typeof DetectUrlBatch>

/** How far a job is: `done` of `total` images are finished, each either scored or failed. */
export const DetectJobProgress = z.object({
  total: z.number().int().nonnegative(),
  done: z.number().int().nonnegative(),
  scored: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
})
export type DetectJobProgress = z.infer<typeof DetectJobProgress>

/** One model's answer for one image of a job, as the worker stores it (the sync answer's per-model fields). */
export const DetectJobItemAnswer = z.object({
  model: DetectModel,
  threshold: z.number(),
  threshold_source: ThresholdSource,
  image: DetectedImage,
  runner_ms: z.number(),
})
export type DetectJobItemAnswer = z.infer<typeof DetectJobItemAnswer>

/** An image of a batch that could not be scored (e.g. `corrupt_image`); the rest of the job goes on. */
export const DetectJobFailure = z.object({
  index: z.number().int().nonnegative(),
  filename: z.string().optional(),
  code: ErrorCode,
  message: z.string(),
})
export type DetectJobFailure = z.infer<typeof DetectJobFailure>

/** Answer of an accepted async detect (202, with `Location: /v1/detect/jobs/{id}`). */
export const DetectJobAccepted = z.object({
  id: z.string(),
  status: DetectJobState,
  /** Where to read the job: `GET` this path (the same as the `Location` header). */
  location: z.string(),
  progress: DetectJobProgress,
  models: z.array(z.string()).describe('the models named, in order; empty: the default model'),
  callback_url: z.string().nullable(),
  created_at: z.iso.datetime(),
})
export type DetectJobAccepted = z.infer<typeof DetectJobAccepted>

/** Query of `GET /v1/detect/jobs/{id}`: a page of the job's images by position. */
export const DetectJobQuery = z.object({
  cursor: z.string().max(100).optional().describe('`next_cursor` of the previous page, unchanged'),
  limit: z.coerce.number().int().min(1).max(DETECT_BATCH_MAX_IMAGES).default(100).describe('images per page (by position in the request)'),
})
export type DetectJobQuery = z.infer<typeof DetectJobQuery>

/**
 * Answer of `GET /v1/detect/jobs/{id}`: state and progress; once `done`, `result` is the body the sync call would have
 * answered for this page's scored images (`id` is the job id, each image's `index` its position in the request), and
 * `failures` the page's images that could not be scored. Pages go by position: `next_cursor` is null on the last.
 */
export const DetectJobStatus = z.object({
  id: z.string(),
  status: DetectJobState,
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  finished_at: z.iso.datetime().nullable(),
  models: z.array(z.string()),
  callback_url: z.string().nullable(),
  progress: DetectJobProgress,
  /** When the job failed as a whole (no image could be scored): why, as the first image's error. */
  error: z.object({ code: ErrorCode, message: z.string() }).nullable(),
  result: DetectResponse.nullable().describe("once done: the sync answer for this page's scored images; null before, or when the page has none"),
  failures: z.array(DetectJobFailure).describe("this page's images that could not be scored, each with its error code"),
  next_cursor: z.string().nullable(),
  /** The callback's delivery once the job ended with a `callback_url` (stored a moment after the end); null before, and without one. */
  callback: CallbackDeliveryStatus.nullable(),
})
export type DetectJobStatus = z.infer<typeof DetectJobStatus>
