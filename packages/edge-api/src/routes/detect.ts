import { type DetectedImage, type DetectResponse, ErrorCode, type ModelMetadata } from '@genimage/shared'
import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env.ts'
import type { ResolvedDeps } from '../app.ts'
import { inflightByteBudget } from '../config.ts'
import { ApiError } from '../errors.ts'
import { InflightBytes, readBoundedBody } from '../inputs/body-reader.ts'
import type { Scores } from '../runners/runner-client.ts'
import type { RunnerState } from '../runners/runner-state.ts'
import type { DetectionRecord } from '../store/detection-store.ts'
import { detectBoundary, readDetectForm, type Upload } from './detect-form.ts'
import { calibratedAiProbability, chooseDefaultModel, outOfDistribution, trainingDataLine, verdictThreshold } from './detect-honesty.ts'

/**
 * `POST /v1/detect`: multipart `image` parts (one or more) and an optional `model`. The body is read first, under
 * `maxRequestBytes`, the `bodyTimeoutMs` deadline and the edge's in-flight byte budget (503 `server_busy` beyond);
 * only then does the request take one of `maxInflightDetects` admission slots (429 `queue_full` beyond), so slow
 * uploads never hold a slot. The runner call is cancelled when the client goes away.
 */
export function detectHandlers(deps: ResolvedDeps): MiddlewareHandler<AppEnv>[] {
  const { config } = deps
  const bodies = new InflightBytes(inflightByteBudget(config.memoryBudgetBytes))
  let inflight = 0
  return [
    async function detect(c) {
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
        if (inflight >= config.maxInflightDetects) {
          throw new ApiError('queue_full', `this edge is already handling ${inflight} detect requests; retry later`, { retryAfterSeconds: 1 })
        }
        inflight += 1
        try {
          return await detectAdmitted(c, deps, body.bytes, boundary, signal)
        } finally {
          inflight -= 1
        }
      } finally {
        body.release()
      }
    },
  ]
}

/** Scores an admitted request whose body is in memory, records its detections and answers them. */
async function detectAdmitted(c: Context<AppEnv>, deps: ResolvedDeps, bodyBytes: Uint8Array<ArrayBuffer>, boundary: string, signal: AbortSignal) {
  const { config } = deps
  const started = performance.now()
  const requestId = c.get('requestId')
  const { uploads, model } = await readDetectForm(bodyBytes, boundary, deps)
  const { runner, metadata, scores } = await scoreWithRetry(deps, model, uploads, requestId, signal)
  c.set('runner', runner.name)
  const card = metadata.card
  const labels = card?.labels ?? defaultLabels(scores.probabilities[0]?.length ?? 0)
  const version = card?.version ?? metadata.versions?.[0] ?? 'unknown'
  const { threshold, source } = verdictThreshold(config.threshold, card?.calibration)
  const totalMs = performance.now() - started
  const createdAt = new Date()
  const images: DetectedImage[] = uploads.map((upload, index) => {
    const probabilities = scores.probabilities[index] ?? []
    const byLabel = Object.fromEntries(labels.map((label, i) => [label, probabilities[i] ?? 0]))
    const natureIndex = labels.indexOf('nature')
    const aiGenerated = clamp01(1 - (natureIndex >= 0 ? (probabilities[natureIndex] ?? 0) : 0))
    const calibrated = card?.calibration ? calibratedAiProbability(probabilities, labels, card.calibration) : null
    const generators =
      labels.length > 2
        ? labels
            .map((name, i) => ({ name, probability: probabilities[i] ?? 0 }))
            .filter((g) => g.name !== 'nature')
            .sort((a, b) => b.probability - a.probability)
        : undefined
    return {
      index,
      ...(upload.filename ? { filename: upload.filename } : {}),
      sha256: upload.sha256,
      bytes: upload.bytes.byteLength,
      ai_generated: aiGenerated,
      calibrated: calibrated !== null,
      calibrated_probability: calibrated,
      verdict: (calibrated ?? aiGenerated) >= threshold ? 'ai' : 'real',
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
    imageSha256: image.sha256,
    imageBytes: image.bytes,
    modelName: metadata.name,
    modelVersion: version,
    aiGenerated: image.ai_generated,
    verdict: image.verdict,
    scores: image.scores,
    apiKeyId: c.get('apiKeyId') ?? null,
    runner: runner.client.url,
    latencyMs: totalMs,
    createdAt,
  }))
  await deps.store.recordDetections(records)
  const body: DetectResponse = {
    id: requestId,
    model: { name: metadata.name, version, training_data: trainingDataLine(card) },
    threshold,
    threshold_source: source,
    images,
    timings: { total_ms: round(performance.now() - started), runner_ms: round(scores.computeMs) },
  }
  return c.json(body)
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
