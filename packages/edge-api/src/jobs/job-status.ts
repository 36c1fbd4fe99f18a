import type { DetectJobAccepted, DetectJobFailure, DetectJobStatus, DetectResponse, ErrorCode } from '@genimage/shared'
import { type CallbackDeliveryRow, callbackDeliveryStatus, type DetectJobItemRow, type DetectJobRow, encodeDetectJobCursor } from '@genimage/shared/db'

/** The path a job is read at (`Location` of the 202). */
export const jobLocation = (id: string) => `/v1/detect/jobs/${id}`

const iso = (date: Date | null) => (date ? date.toISOString() : null)
const round = (ms: number) => Math.round(ms * 100) / 100

function progress(job: DetectJobRow): DetectJobStatus['progress'] {
  return { total: job.total, done: job.scored + job.failed, scored: job.scored, failed: job.failed }
}

/** The 202 body of an accepted job. */
export function acceptedBody(job: DetectJobRow): DetectJobAccepted {
  return {
    id: job.id,
    status: job.state,
    location: jobLocation(job.id),
    progress: progress(job),
    models: job.models,
    callback_url: job.callbackUrl,
    created_at: job.createdAt.toISOString(),
  }
}

/**
 * A job as `GET /v1/detect/jobs/{id}` answers it, with one page of its items (`items`, from position `from`): once
 * done, `result` is the sync answer for the page's scored images, built from each image's stored per-model answers.
 */
export function jobStatusBody(
  job: DetectJobRow,
  items: readonly DetectJobItemRow[],
  page: { from: number; limit: number; now: Date; callback?: CallbackDeliveryRow },
): DetectJobStatus {
  const { from, limit, now } = page
  const final = job.state === 'done' || job.state === 'failed'
  const shown = items.slice(0, limit)
  const failures: DetectJobFailure[] = shown
    .filter((item) => item.state === 'failed')
    .map((item) => ({
      index: item.idx,
      ...(item.filename ? { filename: item.filename } : {}),
      code: (item.errorCode ?? 'internal_error') as ErrorCode,
      message: item.errorMessage ?? '',
    }))
  const scored = shown.filter((item) => item.state === 'done' && item.answers && item.answers.length > 0)
  const next = from + shown.length
  return {
    id: job.id,
    status: job.state,
    created_at: job.createdAt.toISOString(),
    updated_at: job.updatedAt.toISOString(),
    finished_at: iso(job.finishedAt),
    models: job.models,
    callback_url: job.callbackUrl,
    progress: progress(job),
    error: job.errorCode ? { code: job.errorCode as ErrorCode, message: job.errorMessage ?? '' } : null,
    result: final && scored.length > 0 ? resultBody(job, scored, now) : null,
    failures,
    next_cursor: shown.length === limit && next < job.total ? encodeDetectJobCursor(next) : null,
    callback: page.callback ? callbackDeliveryStatus(page.callback) : null,
  }
}

/** The sync answer's shape for scored items: the first model's answer at the top, every model's in `results` when several. */
function resultBody(job: DetectJobRow, scored: readonly DetectJobItemRow[], now: Date): DetectResponse {
  const answers = scored.map((item) => item.answers ?? [])
  const first = answers[0]?.[0]
  if (!first) throw new Error('resultBody needs a scored item')
  const models = first && answers[0] ? answers[0].length : 1
  const perModel = Array.from({ length: models }, (_, m) => {
    const own = answers.map((list) => list[m]).filter((answer) => answer !== undefined)
    const head = own[0] ?? first
    return {
      model: head.model,
      threshold: head.threshold,
      threshold_source: head.threshold_source,
      images: own.map((answer) => answer.image),
      runner_ms: round(own.reduce((sum, answer) => sum + answer.runner_ms, 0)),
    }
  })
  const [top] = perModel as [(typeof perModel)[number], ...typeof perModel]
  return {
    id: job.id,
    model: top.model,
    threshold: top.threshold,
    threshold_source: top.threshold_source,
    images: top.images,
    timings: {
      total_ms: round((job.finishedAt ?? now).getTime() - job.createdAt.getTime()),
      runner_ms: round(perModel.reduce((sum, answer) => sum + answer.runner_ms, 0)),
    },
    ...(perModel.length > 1 ? { results: perModel } : {}),
  }
}
