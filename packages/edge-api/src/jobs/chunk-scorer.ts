import type { ErrorCode } from '@genimage/shared'
import {
  type Db,
  type DetectJobItemOutcome,
  type DetectJobItemRow,
  type DetectJobRow,
  type DetectionRow,
  getDetectJob,
  postponeDetectJobItems,
  recordDetectJobItems,
} from '@genimage/shared/db'
import type { ResolvedDeps } from '../app.ts'
import { ApiError } from '../errors.ts'
import type { AdmittedScorer, ScoringContext } from '../routes/detect.ts'
import { fetchUrlInput, type Upload } from '../routes/detect-form.ts'
import { sha256Hex } from '../sha256.ts'
import { sniffImage } from '../sniff.ts'
import { imageProblem } from '../routes/detect-form.ts'
import type { DetectSpool } from './spool.ts'

/** What scoring a job's images needs: the app's scoring path and where the job's rows and bytes are. */
export interface ChunkScoring {
  db: Db
  spool: DetectSpool
  deps: ResolvedDeps
  scorer: AdmittedScorer
  /** Aborted when the edge stops: images in flight stay queued. */
  signal: AbortSignal
  /** Transient failures an image survives before it fails with that error. */
  maxAttempts: number
  now: () => Date
  warn: (msg: string, extra: Record<string, unknown>) => void
}

/** Failures of the runners or the edge, not of the image: the image waits and is tried again. */
const TRANSIENT = new Set<ErrorCode>(['queue_full', 'no_runner_available', 'runner_timeout', 'server_busy', 'runner_error', 'internal_error'])
/** Failures that every image of the job would meet: no use trying the images one by one. */
const JOB_WIDE = new Set<ErrorCode>(['model_not_found', 'default_model_ambiguous', 'unauthorized', 'forbidden'])

interface Scored {
  outcomes: DetectJobItemOutcome[]
  rows: DetectionRow[]
  runnerMs: number
}

type Loaded = { item: DetectJobItemRow; upload: Upload }

const nothing = (): Scored => ({ outcomes: [], rows: [], runnerMs: 0 })

/**
 * Scores due items of one job with one runner call per model (as many as fit the request pixel budget; the rest wait
 * for the next round), then records how each ended and deletes the spooled bytes of the finished ones.
 */
export async function scoreDueItems(scoring: ChunkScoring, items: readonly DetectJobItemRow[]): Promise<void> {
  const { db, spool, deps } = scoring
  const jobId = (items[0] as DetectJobItemRow).jobId
  const job = await getDetectJob(db, jobId)
  if (!job) return
  const failed: DetectJobItemOutcome[] = []
  const loaded: Loaded[] = []
  let pixels = 0
  for (const item of items) {
    let bytes: Uint8Array<ArrayBuffer> | undefined
    if (item.url !== null) {
      try {
        bytes = await fetchUrlInput(item.url, deps)
      } catch (error) {
        failed.push(failure(item.idx, error))
        continue
      }
      const problem = imageProblem(bytes, deps.config)
      if (problem) {
        failed.push({ idx: item.idx, state: 'failed', ...problem })
        continue
      }
    } else {
      bytes = await spool.read(jobId, item.idx)
      if (!bytes) {
        failed.push({ idx: item.idx, state: 'failed', code: 'internal_error', message: 'the spooled image is gone (its spool file was removed)' })
        continue
      }
    }
    const sniffed = sniffImage(bytes)
    const size = sniffed?.width !== undefined && sniffed.height !== undefined ? { width: sniffed.width, height: sniffed.height } : {}
    const imagePixels = (size.width ?? 0) * (size.height ?? 0)
    if (loaded.length > 0 && pixels + imagePixels > deps.config.maxRequestPixels) break
    pixels += imagePixels
    const upload: Upload = { bytes, sha256: item.sha256 ?? (await sha256Hex(bytes)), ...size, ...(item.filename ? { filename: item.filename } : {}) }
    loaded.push({ item, upload })
  }
  const context: ScoringContext = { requestId: job.id, correlationId: job.correlationId, apiKeyId: job.apiKeyId }
  const scored = loaded.length > 0 ? await scoreLoaded(scoring, job, context, loaded) : nothing()
  const outcomes = [...failed, ...scored.outcomes]
  if (outcomes.length === 0) return
  await recordDetectJobItems(db, jobId, outcomes, scored.rows, scored.runnerMs, scoring.now())
  const spooled = new Set(items.filter((item) => item.url === null).map((item) => item.idx))
  for (const outcome of outcomes) if (spooled.has(outcome.idx)) await spool.remove(jobId, outcome.idx)
}

/**
 * One runner call per model for the loaded images. A transient failure postpones them all; an error that names one
 * image fails that one (the others go again next round); any other error is tried image by image.
 */
async function scoreLoaded(scoring: ChunkScoring, job: DetectJobRow, context: ScoringContext, loaded: Loaded[]): Promise<Scored> {
  try {
    const answers = await scoring.scorer(
      job.models,
      loaded.map((l) => l.upload),
      context,
      scoring.signal,
    )
    const outcomes = loaded.map(({ item, upload }, i): DetectJobItemOutcome => {
      const list = answers.map((answer) => ({
        model: answer.model,
        threshold: answer.threshold,
        threshold_source: answer.thresholdSource,
        image: { ...(answer.images[i] as (typeof answer.images)[number]), index: item.idx },
        runner_ms: Math.round((answer.runnerMs / loaded.length) * 100) / 100,
      }))
      return { idx: item.idx, state: 'done', answers: list, sha256: upload.sha256, bytes: upload.bytes.byteLength, width: upload.width, height: upload.height }
    })
    const runnerMs = answers.reduce((sum, answer) => sum + answer.runnerMs, 0)
    return { outcomes, rows: answers.flatMap((answer) => answer.records), runnerMs }
  } catch (error) {
    if (scoring.signal.aborted) return nothing()
    const apiError = error instanceof ApiError ? error : new ApiError('internal_error', String(error))
    if (TRANSIENT.has(apiError.code)) return postpone(scoring, job, loaded, apiError)
    const named = apiError.extra.image === undefined ? undefined : loaded[apiError.extra.image]
    if (named && loaded.length > 1) return { ...nothing(), outcomes: [failure(named.item.idx, apiError)] }
    if (loaded.length === 1 || JOB_WIDE.has(apiError.code)) return { ...nothing(), outcomes: loaded.map((l) => failure(l.item.idx, apiError)) }
    const each = nothing()
    for (const single of loaded) {
      const alone = await scoreLoaded(scoring, job, context, [single])
      each.outcomes.push(...alone.outcomes)
      each.rows.push(...alone.rows)
      each.runnerMs += alone.runnerMs
    }
    return each
  }
}

/** Puts images back with exponential backoff (0.5 s doubling, at most 30 s), or fails them once their attempts are spent. */
async function postpone(scoring: ChunkScoring, job: DetectJobRow, loaded: Loaded[], error: ApiError): Promise<Scored> {
  const attempts = Math.max(...loaded.map((l) => l.item.attempts)) + 1
  if (attempts >= scoring.maxAttempts) return { ...nothing(), outcomes: loaded.map((l) => failure(l.item.idx, error)) }
  const delayMs = Math.min(30_000, 500 * 2 ** (attempts - 1), (error.extra.retryAfterSeconds ?? Number.POSITIVE_INFINITY) * 1000)
  const now = scoring.now()
  const positions = loaded.map((l) => l.item.idx)
  await postponeDetectJobItems(scoring.db, job.id, positions, new Date(now.getTime() + delayMs), now)
  scoring.warn(`detect job images postponed ${delayMs} ms: ${error.message}`, { job: job.id, code: error.code, attempts })
  return nothing()
}

function failure(idx: number, error: unknown): DetectJobItemOutcome {
  const apiError = error instanceof ApiError ? error : new ApiError('internal_error', String(error))
  return { idx, state: 'failed', code: apiError.code, message: apiError.message }
}
