import { type DetectedImage, type DetectResponse, DetectForm, ErrorCode, type ModelMetadata } from '@genimage/shared'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env.ts'
import type { ResolvedDeps } from '../app.ts'
import { ApiError } from '../errors.ts'
import { MultipartError, type MultipartPart, multipartBoundary, parseMultipart } from '../inputs/multipart.ts'
import { fetchImageUrl } from '../inputs/url-fetch.ts'
import { byteLimit } from '../middleware/byte-limit.ts'
import { calibratedAiProbability, chooseDefaultModel, outOfDistribution, trainingDataLine, verdictThreshold } from './detect-honesty.ts'
import type { Scores } from '../runners/runner-client.ts'
import type { RunnerState } from '../runners/runner-state.ts'
import { sha256Hex } from '../sha256.ts'
import { sniffImage } from '../sniff.ts'
import type { DetectionRecord } from '../store/detection-store.ts'

interface Upload {
  bytes: Uint8Array
  filename?: string
  sha256: string
  /** From the image header, when it states them. */
  width?: number
  height?: number
}

/**
 * `POST /v1/detect`: multipart `image` parts (one or more) and an optional `model`. The handler chain admits at
 * most `maxInflightDetects` requests at once (429 `queue_full` beyond), limits the body size, then scores.
 */
export function detectHandlers(deps: ResolvedDeps): MiddlewareHandler<AppEnv>[] {
  const { config } = deps
  let inflight = 0
  return [
    async function admission(_c, next) {
      if (inflight >= config.maxInflightDetects) {
        throw new ApiError('queue_full', `this edge is already handling ${inflight} detect requests; retry later`, { retryAfterSeconds: 1 })
      }
      inflight += 1
      try {
        await next()
      } finally {
        inflight -= 1
      }
    },
    byteLimit({ maxBytes: config.maxRequestBytes }),
    async function detect(c) {
      const started = performance.now()
      const requestId = c.get('requestId')
      const { uploads, model } = await readForm(c.req.raw, deps)
      const { runner, metadata, scores } = await scoreWithRetry(deps, model, uploads, requestId)
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
    },
  ]
}

async function readForm(request: Request, deps: ResolvedDeps): Promise<{ uploads: Upload[]; model?: string }> {
  const { config } = deps
  const type = request.headers.get('content-type') ?? ''
  if (!type.toLowerCase().startsWith('multipart/form-data')) {
    throw new ApiError('unsupported_media_type', 'send multipart/form-data with one or more `image` file parts')
  }
  let parts: MultipartPart[]
  try {
    const boundary = multipartBoundary(type)
    if (boundary === undefined) throw new MultipartError('the content type has no boundary parameter of 1 to 70 characters')
    parts = parseMultipart(new Uint8Array(await request.arrayBuffer()), boundary)
  } catch (error) {
    if (error instanceof ApiError) throw error
    throw new ApiError('invalid_request', `multipart body could not be parsed${error instanceof MultipartError ? `: ${error.message}` : ''}`)
  }
  const fields = DetectForm.safeParse({ model: textField(parts, 'model'), url: textField(parts, 'url') })
  if (!fields.success) {
    const issue = fields.error.issues[0]
    throw new ApiError('invalid_request', `${issue?.path.join('.')}: ${issue?.message}`)
  }
  const files = parts.filter((part) => part.name === 'image')
  const count = files.length + (fields.data.url === undefined ? 0 : 1)
  if (count === 0) throw new ApiError('missing_image', 'no `image` part (or `url` field) in the form')
  if (count > config.maxImagesPerRequest) {
    throw new ApiError('invalid_request', `at most ${config.maxImagesPerRequest} images per request`)
  }
  const images: { bytes: Uint8Array<ArrayBuffer>; filename?: string }[] = files.map((part, index) => {
    if (part.filename === undefined) throw new ApiError('invalid_request', '`image` must be a file part', { image: index })
    return { bytes: part.data, filename: part.filename }
  })
  if (fields.data.url !== undefined) images.push({ bytes: await fetchUrlInput(fields.data.url, deps) })
  const uploads: Upload[] = []
  for (const [index, { bytes, filename }] of images.entries()) {
    if (bytes.byteLength === 0) throw new ApiError('missing_image', 'image part is empty', { image: index })
    const sniffed = sniffImage(bytes)
    if (!sniffed) {
      throw new ApiError('unsupported_media_type', 'bytes are not JPEG, PNG, WebP, GIF, AVIF or TIFF', { image: index })
    }
    if (sniffed.width !== undefined && sniffed.height !== undefined && sniffed.width * sniffed.height > config.maxImagePixels) {
      throw new ApiError('image_too_large', `image header claims ${sniffed.width}×${sniffed.height} pixels; the limit is ${config.maxImagePixels}`, {
        image: index,
      })
    }
    uploads.push({
      bytes,
      sha256: await sha256Hex(bytes),
      ...(sniffed.width !== undefined && sniffed.height !== undefined ? { width: sniffed.width, height: sniffed.height } : {}),
      ...(filename && filename !== 'blob' ? { filename: filename.slice(0, 255) } : {}),
    })
  }
  return { uploads, ...(fields.data.model ? { model: fields.data.model } : {}) }
}

/** The first part with this name, as text; undefined when there is none or it is a file. */
function textField(parts: MultipartPart[], name: string): string | undefined {
  const part = parts.find((p) => p.name === name)
  return part && part.filename === undefined ? textDecoder.decode(part.data) : undefined
}

const textDecoder = new TextDecoder()

function fetchUrlInput(url: string, deps: ResolvedDeps): Promise<Uint8Array<ArrayBuffer>> {
  const { config } = deps
  if (!config.allowUrlInput) throw new ApiError('url_not_allowed', 'url input is disabled on this deployment (EDGE_ALLOW_URL_INPUT=true enables it)')
  if (!deps.resolveHost) throw new ApiError('url_not_allowed', 'url input needs a DNS resolver, and this edge runtime has none configured')
  return fetchImageUrl(url, {
    resolveHost: deps.resolveHost,
    fetchFn: deps.fetchUrl,
    maxBytes: config.maxRequestBytes,
    timeoutMs: config.urlFetchTimeoutMs,
    maxRedirects: config.urlMaxRedirects,
  })
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
    const result = await deps.runners.run(runner, (client) => client.infer(metadata.name, images, requestId))
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
