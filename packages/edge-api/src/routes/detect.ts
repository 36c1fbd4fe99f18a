import { credentialsProveAi, type DetectedImage, type DetectResponse, ErrorCode, type ModelMetadata } from '@genimage/shared'
import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env.ts'
import type { ResolvedDeps } from '../app.ts'
import { inflightByteBudget } from '../config.ts'
import { ApiError } from '../errors.ts'
import { InflightBytes, readBoundedBody } from '../inputs/body-reader.ts'
import { asyncDetectRequested } from '../jobs/job-request.ts'
import type { Scores } from '../runners/runner-client.ts'
import type { RunnerState } from '../runners/runner-state.ts'
import type { DetectionRecord } from '../store/detection-store.ts'
import { AdmissionSlots, requireServed } from './detect-admission.ts'
import { acceptDetectJob } from './detect-jobs.ts'
import { detectBoundary, readDetectForm, type Upload } from './detect-form.ts'
import { modelDocsPath } from './models.ts'
import { calibratedAiProbability, chooseDefaultModel, outOfDistribution, trainingDataLine, verdictThreshold } from './detect-honesty.ts'

/**
 * `POST /v1/detect`: multipart `image` parts (one or more) and optional `model` fields (up to MAX_MODELS_PER_REQUEST).
 * The body is read first, under `maxRequestBytes`, the `bodyTimeoutMs` deadline and the edge's in-flight byte budget
 * (503 `server_busy` beyond); only then does the request take one of `maxInflightDetects` admission slots (429
 * `queue_full` beyond), so slow uploads never hold a slot; a request naming several models takes one slot per model.
 * The runner calls are cancelled when the client goes away.
 */
export function detectHandlers(deps: ResolvedDeps): MiddlewareHandler<AppEnv>[] {
  const { config } = deps
  const bodies = new InflightBytes(inflightByteBudget(config.memoryBudgetBytes))
  const slots = new AdmissionSlots(config.maxInflightDetects)
  // Async jobs are scored by the edge's worker through the same admission slots as requests (see jobs/detect-jobs.ts).
  deps.detectJobs?.bind(deps, (models, uploads, context, signal) => scoreAdmitted(deps, slots, models, uploads, context, signal))
  return [
    async function detect(c) {
      if (asyncDetectRequested(c)) return acceptDetectJob(c, deps, bodies)
      const boundary = detectBoundary(c.req.raw)
      const signal = c.req.raw.signal
      const body = await readBoundedBody(c.req.raw, { maxBytes: config.maxRequestBytes, timeoutMs: config.bodyTimeoutMs, budget: bodies, signal }).catch(
        (error: unknown) => {
          // A body too large is answered at once; the server then discards what is still on its way (on Node for up
          // to 500 ms), so a client that sends the whole body before reading reads the 413 instead of a reset. A
          // client too slow for the deadline gets its connection closed after the answer.
          if (error instanceof ApiError && error.code === 'request_timeout') c.header('connection', 'close')
          throw error
        },
      )
      try {
        slots.take(1)
        let held = 1
        try {
          return await detectAdmitted(c, deps, body.bytes, boundary, signal, (models) => {
            if (models > held) slots.take(models - held, models)
            held = Math.max(held, models)
          })
        } finally {
          slots.release(held)
        }
      } finally {
        body.release()
      }
    },
  ]
}

/** Who a scoring is for: the ids its detections rows are recorded under. */
export interface ScoringContext {
  requestId: string
  correlationId: string | null
  apiKeyId: string | null
}

/** Scores uploads with the named models under this edge's admission slots (one per model), as a request would. */
export type AdmittedScorer = (models: string[], uploads: Upload[], context: ScoringContext, signal: AbortSignal) => Promise<ModelAnswer[]>

/** One model's answer to a request: what the top level of a single-model answer holds, and the rows to record. */
export interface ModelAnswer {
  runner: RunnerState
  model: DetectResponse['model']
  threshold: number
  thresholdSource: DetectResponse['threshold_source']
  images: DetectedImage[]
  records: DetectionRecord[]
  runnerMs: number
}

/**
 * Scores an admitted request whose body is in memory with each named model (one runner call per model, in parallel;
 * `admitModels` takes the admission slots beyond the first), records every (image, model) detection and answers them.
 */
async function detectAdmitted(
  c: Context<AppEnv>,
  deps: ResolvedDeps,
  bodyBytes: Uint8Array<ArrayBuffer>,
  boundary: string,
  signal: AbortSignal,
  admitModels: (count: number) => void,
) {
  const started = performance.now()
  const { uploads, models } = await readDetectForm(bodyBytes, boundary, deps)
  const context = { requestId: c.get('requestId'), correlationId: c.get('correlationId') ?? null, apiKeyId: c.get('apiKeyId') ?? null }
  const answers = await scoreUploads(deps, models, uploads, context, started, signal, admitModels)
  c.set('runner', [...new Set(answers.map((a) => a.runner.name))].join(','))
  await deps.store.recordDetections(answers.flatMap((a) => a.records))
  const [first] = answers as [ModelAnswer, ...ModelAnswer[]]
  const body: DetectResponse = {
    id: c.get('requestId'),
    model: first.model,
    threshold: first.threshold,
    threshold_source: first.thresholdSource,
    images: first.images,
    timings: { total_ms: round(performance.now() - started), runner_ms: round(answers.reduce((sum, a) => sum + a.runnerMs, 0)) },
    ...(answers.length > 1
      ? {
          results: answers.map((a) => ({
            model: a.model,
            threshold: a.threshold,
            threshold_source: a.thresholdSource,
            images: a.images,
            runner_ms: round(a.runnerMs),
          })),
        }
      : {}),
  }
  return c.json(body)
}

/**
 * Scores uploads with each named model (the default when none is named): one runner call per model, in parallel;
 * `admitModels` takes the admission slots beyond the first. The answers are not recorded yet.
 */
async function scoreUploads(
  deps: ResolvedDeps,
  models: string[],
  uploads: Upload[],
  context: ScoringContext,
  started: number,
  signal: AbortSignal,
  admitModels: (count: number) => void,
): Promise<ModelAnswer[]> {
  if (models.length <= 1) return [await answerWithModel(context, deps, models[0], uploads, started, signal)]
  admitModels(models.length)
  await requireServed(deps, models)
  // The first failure cancels the other models' runner calls; the request answers that failure.
  const failed = new AbortController()
  const either = AbortSignal.any([signal, failed.signal])
  return Promise.all(
    models.map((name) =>
      answerWithModel(context, deps, name, uploads, started, either).catch((error: unknown) => {
        failed.abort()
        throw error
      }),
    ),
  )
}

/** {@link scoreUploads} under the admission slots, taking one slot per named model at once (429 `queue_full` when short). */
async function scoreAdmitted(
  deps: ResolvedDeps,
  slots: AdmissionSlots,
  models: string[],
  uploads: Upload[],
  context: ScoringContext,
  signal: AbortSignal,
): Promise<ModelAnswer[]> {
  const held = Math.max(1, models.length)
  slots.take(held, held)
  try {
    return await scoreUploads(deps, models, uploads, context, performance.now(), signal, () => {})
  } finally {
    slots.release(held)
  }
}

/** Scores the uploads with one model (the default when `model` is undefined) and builds its images and detection rows. */
async function answerWithModel(
  context: ScoringContext,
  deps: ResolvedDeps,
  model: string | undefined,
  uploads: Upload[],
  started: number,
  signal: AbortSignal,
): Promise<ModelAnswer> {
  const { config } = deps
  const { requestId } = context
  const { runner, metadata, scores } = await scoreWithRetry(deps, model, uploads, requestId, signal)
  const card = metadata.card
  const labels = card?.labels ?? defaultLabels(scores.probabilities[0]?.length ?? 0)
  const version = card?.version ?? metadata.versions?.[0] ?? 'unknown'
  const { threshold, source } = verdictThreshold(config.threshold, card?.calibration)
  const totalMs = performance.now() - started
  const createdAt = new Date()
  // Attribution models (any label beyond nature and ai) also answer a probability per generator.
  const attribution = labels.some((label) => label !== 'nature' && label !== 'ai')
  const images: DetectedImage[] = uploads.map((upload, index) => {
    const probabilities = scores.probabilities[index] ?? []
    const byLabel = Object.fromEntries(labels.map((label, i) => [label, probabilities[i] ?? 0]))
    const natureIndex = labels.indexOf('nature')
    const aiGenerated = clamp01(1 - (natureIndex >= 0 ? (probabilities[natureIndex] ?? 0) : 0))
    const calibrated = card?.calibration ? calibratedAiProbability(probabilities, labels, card.calibration) : null
    const generators = attribution
      ? labels
          .map((name, i) => ({ name, probability: clamp01(probabilities[i] ?? 0) }))
          .filter((g) => g.name !== 'nature')
          .sort((a, b) => b.probability - a.probability)
      : undefined
    // Valid credentials declaring AI generation decide the verdict; the score is still reported.
    const credentials = scores.contentCredentials?.[index] ?? null
    const proven = credentialsProveAi(credentials)
    return {
      index,
      ...(upload.filename ? { filename: upload.filename } : {}),
      sha256: upload.sha256,
      bytes: upload.bytes.byteLength,
      ai_generated: aiGenerated,
      calibrated: calibrated !== null,
      calibrated_probability: calibrated,
      verdict: proven || (calibrated ?? aiGenerated) >= threshold ? 'ai' : 'real',
      verdict_reason: proven ? 'content_credentials' : 'score',
      content_credentials: credentials,
      out_of_distribution: outOfDistribution(card?.trainingProfile, {
        width: upload.width,
        height: upload.height,
        statistics: scores.statistics?.[index],
        score: aiGenerated,
      }),
      scores: byLabel,
      ...(generators ? { generators } : {}),
      detection_id: crypto.randomUUID(),
    }
  })
  const records: DetectionRecord[] = images.map((image) => ({
    id: image.detection_id,
    requestId,
    correlationId: context.correlationId,
    imageSha256: image.sha256,
    imageBytes: image.bytes,
    modelName: metadata.name,
    modelVersion: version,
    aiGenerated: image.ai_generated,
    verdict: image.verdict,
    threshold,
    scores: image.scores,
    contentCredentials: image.content_credentials ?? null,
    apiKeyId: context.apiKeyId,
    runner: runner.client.url,
    latencyMs: totalMs,
    createdAt,
  }))
  const answered = { name: metadata.name, version, training_data: trainingDataLine(card), docs: modelDocsPath(metadata.name) }
  return { runner, model: answered, threshold, thresholdSource: source, images, records, runnerMs: scores.computeMs }
}

/**
 * Scores on the least-busy runner serving the model; once more on another runner if that one is unreachable
 * or answers 502/503. A full queue (429) is passed to the client at once: retrying it elsewhere under overload
 * only adds load. Failures feed the pool's circuit breaker.
 */
async function scoreWithRetry(
  deps: ResolvedDeps,
  model: string | undefined,
  uploads: Upload[],
  requestId: string,
  signal: AbortSignal,
): Promise<{ runner: RunnerState; metadata: ModelMetadata; scores: Scores }> {
  const wanted = model ?? (await defaultModel(deps))
  const tried = new Set<RunnerState>()
  let lastFailure: { code: string; message: string; retryAfterSeconds?: number } | undefined
  for (let attempt = 0; attempt < 2; attempt++) {
    const choice = await deps.runners.pick(wanted, tried)
    if (!choice.ok) {
      if (lastFailure) break
      throw new ApiError(choice.reason, choice.message)
    }
    const { runner, model: metadata } = choice
    tried.add(runner)
    if (attempt > 0) deps.metrics.countRetry()
    const images = uploads.map((u) => u.bytes)
    const result = await deps.runners.run(runner, (client) => client.infer(metadata.name, images, requestId, signal))
    if (result.ok) {
      deps.runners.recordSuccess(runner)
      return { runner, metadata, scores: result.data }
    }
    if (!result.retryable) {
      const known = ErrorCode.safeParse(result.error.code)
      const code = known.success && known.data !== 'internal_error' ? known.data : 'runner_error'
      throw new ApiError(code, result.error.message, result.error.image === undefined ? {} : { image: result.error.image })
    }
    if (result.error.code === 'queue_full') {
      throw new ApiError('queue_full', 'the runner serving this model is at capacity; retry later', { retryAfterSeconds: result.error.retryAfterSeconds ?? 1 })
    }
    deps.runners.recordFailure(runner, result.error.message, result.error.code === 'runner_unreachable')
    lastFailure = result.error
  }
  throw new ApiError('no_runner_available', `runners failed: ${lastFailure?.message ?? 'unknown'}`)
}

/** The model for a request that names none; throws `default_model_ambiguous` rather than guess between several. */
async function defaultModel(deps: ResolvedDeps): Promise<string | undefined> {
  const configured = deps.config.defaultModel
  const served = configured ? [] : (await deps.runners.models()).map((m) => m.metadata)
  const choice = chooseDefaultModel(served, configured)
  if (choice.ok) return choice.name
  // With no model served, the pool's own answer (no runner ready, or none serves a model) says more.
  if (choice.code === 'model_not_found') return undefined
  throw new ApiError(choice.code, choice.message)
}

function defaultLabels(width: number): string[] {
  return width === 2 ? ['nature', 'ai'] : Array.from({ length: width }, (_, i) => (i === 0 ? 'nature' : `class_${i}`))
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x))
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}
