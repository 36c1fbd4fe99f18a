import {
  channelStatistics,
  decodeInferRequest,
  ERROR_STATUS,
  INFERENCE_HEADER_LENGTH,
  InferBodyError,
  type InferResponse,
  INPUT_STATISTICS_OUTPUT,
  type ModelIndex,
  type ModelMetadata,
  PROBABILITIES_OUTPUT,
} from '@genimage/shared'
import { Hono, type MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { type BatcherOptions, QueueFullError } from '../inference/batcher.ts'
import type { ExecutionProvider, SessionTuning } from '../inference/execution-providers.ts'
import { Limiter } from '../inference/limiter.ts'
import { ImagePreprocessError, ModelScheduler, type ScoreRequest } from '../inference/model-scheduler.ts'
import { ImageDecodeError } from '@genimage/imaging'
import { type ContentCredentialsReader, createContentCredentialsReader } from '../provenance/content-credentials.ts'
import { inputStatisticsOf } from '../repository/input-statistics.ts'
import { isMainSessionReleased, type LoadedModel, type ModelRepository, releaseMainSession } from '../repository/model-repository.ts'
import { InflightTracker } from './drain.ts'
import { scoreImagesByTiles, tileStatisticsOf } from './evidence.ts'
import { modelMetadata, readInferInputs, RunnerError } from './infer-inputs.ts'
import { RunnerMetrics } from './metrics.ts'
import { runnerTokenAuth } from './runner-token.ts'
import { jsonLog, type Log, requestLog } from './request-log.ts'

/** How inference work is queued and decoded. */
export interface ServingOptions {
  /** Batching of a model whose provider has no entry in `batchByProvider`. */
  batch: BatcherOptions
  /** Batching by the model's execution provider (a GPU wants larger batches; see RunnerConfig.serving). */
  batchByProvider?: Partial<Record<ExecutionProvider, BatcherOptions>>
  /** Image decodes running at once across all models (sharp work on libuv's thread pool). */
  decodeConcurrency: number
  /**
   * Heavy decodes (images of at least `heavyDecodePixels`) running at once, so that small images always find a
   * decode slot and a libuv thread (default: half of libuv's 4 threads).
   */
  heavyDecodeConcurrency?: number
  /** Pixels from which an image's decode counts as heavy (default 16 MP). */
  heavyDecodePixels?: number
  /** Run each model's session on a worker thread (default true). */
  inferenceWorker?: boolean
  /** onnxruntime threading for the worker's session. */
  sessionTuning?: SessionTuning
  /** Free each model's idle main-thread session once its worker runs (the runner process owns its models). */
  releaseMainSessions?: boolean
}

/** Heavy decodes at once by default: half of libuv's default 4 threads, leaving the other half to small images. */
const DEFAULT_HEAVY_DECODES = 2

export const DEFAULT_SERVING: ServingOptions = {
  batch: { maxBatchSize: 8, maxQueueDelayMs: 5, maxQueueSize: 64 },
  decodeConcurrency: 8,
}

export interface RunnerAppDeps {
  name: string
  version: string
  repository: ModelRepository
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number
  /** While draining, the runner answers not-ready and refuses new inference with 503. */
  isDraining?: () => boolean
  serving?: ServingOptions
  metrics?: RunnerMetrics
  /** Requests in flight, for draining on shutdown. */
  inflight?: InflightTracker
  log?: Log
  /** Reads each encoded image's C2PA content credentials (default: a reader with no trust anchors, so no signer is trusted). */
  contentCredentials?: ContentCredentialsReader
  /** When set, every route but liveness and readiness requires `Authorization: Bearer <token>` (RUNNER_TOKEN). */
  token?: string
  /** With `token`: `GET /metrics` still answers without it (RUNNER_METRICS_WITHOUT_TOKEN). */
  metricsWithoutToken?: boolean
}

type RunnerEnv = { Variables: { requestId: string; errorCode?: string; model?: string; images?: number } }

/** A runner's HTTP app and what stops the inference worker threads it started. */
export interface RunnerApp {
  app: Hono<RunnerEnv>
  /** Stops every model's scheduler and its worker thread; call it once the server stops taking requests. */
  close(): Promise<void>
  /**
   * Stops a model that has left the repository once its in-flight requests finish (its scheduler, worker thread and
   * session). Models added to the repository later are served from their first request on.
   */
  retireModel(model: LoadedModel): Promise<void>
}

/**
 * The runner's HTTP API: Open Inference Protocol v2 endpoints over the loaded model repository, plus `/metrics`.
 * It starts one inference worker thread per model: whoever creates it calls `close()`.
 */
export function createRunnerApp(deps: RunnerAppDeps): RunnerApp {
  const app = new Hono<RunnerEnv>()
  const draining = deps.isDraining ?? (() => false)
  const serving = deps.serving ?? DEFAULT_SERVING
  const metrics = deps.metrics ?? new RunnerMetrics()
  const inflight = deps.inflight ?? new InflightTracker()
  const log = deps.log ?? jsonLog('runner', { runner: deps.name })
  const contentCredentials = deps.contentCredentials ?? createContentCredentialsReader()
  const decodes = new Limiter(serving.decodeConcurrency, Math.min(serving.decodeConcurrency, serving.heavyDecodeConcurrency ?? DEFAULT_HEAVY_DECODES))
  const schedulers = new Map<LoadedModel, ModelScheduler>()
  const inflightByModel = new Map<LoadedModel, number>()
  const retiring = new Map<LoadedModel, () => void>()
  const schedulerFor = (model: LoadedModel): ModelScheduler => {
    const existing = schedulers.get(model)
    if (existing) return existing
    const name = model.card.name
    const scheduler = new ModelScheduler(
      model,
      serving.batchByProvider?.[model.provider] ?? serving.batch,
      decodes,
      {
        onBatch: (size, seconds) => {
          metrics.batchSize.observe({ model: name }, size)
          metrics.batchSeconds.observe({ model: name }, seconds)
        },
        onDepth: (admitted, queued) => {
          metrics.queueDepth.set({ model: name }, admitted)
          metrics.batchQueue.set({ model: name }, queued)
        },
      },
      {
        worker: serving.inferenceWorker !== false,
        tuning: serving.sessionTuning,
        releaseMainSession: serving.releaseMainSessions === true,
        heavyDecodePixels: serving.heavyDecodePixels,
        onWorkerFailure: (error) => log({ level: 'warn', msg: `${name}: inference worker failed to start; running on the main thread`, error: error.message }),
      },
    )
    schedulers.set(model, scheduler)
    metrics.queueDepth.set({ model: name }, 0)
    return scheduler
  }
  for (const model of deps.repository.models.values()) schedulerFor(model)
  const leaveModel = (model: LoadedModel) => {
    const left = (inflightByModel.get(model) ?? 1) - 1
    if (left > 0) inflightByModel.set(model, left)
    else {
      inflightByModel.delete(model)
      retiring.get(model)?.()
    }
  }
  const retireModel = async (model: LoadedModel) => {
    if ((inflightByModel.get(model) ?? 0) > 0) await new Promise<void>((done) => retiring.set(model, done))
    retiring.delete(model)
    const scheduler = schedulers.get(model)
    schedulers.delete(model)
    await scheduler?.close()
    if (!isMainSessionReleased(model)) await releaseMainSession(model)
  }

  app.use('*', requestLog({ log }))
  app.onError((error, c) => {
    if (error instanceof RunnerError) {
      c.set('errorCode', error.code)
      metrics.errors.inc({ code: error.code })
      if (error.retryAfterSeconds !== undefined) c.header('retry-after', String(error.retryAfterSeconds))
      const body = { error: error.message, code: error.code, ...(error.image === undefined ? {} : { image: error.image }) }
      return c.json(body, ERROR_STATUS[error.code] as ContentfulStatusCode)
    }
    c.set('errorCode', 'internal_error')
    metrics.errors.inc({ code: 'internal_error' })
    log({ level: 'error', msg: 'unhandled runner error', request_id: c.get('requestId'), error: String(error) })
    return c.json({ error: 'internal error', code: 'internal_error' }, 500)
  })
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}`, code: 'not_found' }, 404))
  if (deps.token) app.use('*', runnerTokenAuth(deps.token, { metricsWithoutToken: deps.metricsWithoutToken === true }))

  app.get('/v2/health/live', (c) => c.json({ live: true }))
  app.get('/v2/health/ready', (c) => {
    const ready = !draining()
    return c.json({ ready }, ready ? 200 : 503)
  })
  app.get('/v2', (c) => c.json({ name: deps.name, version: deps.version, extensions: ['binary_tensor_data', 'model_repository'] }))
  app.get('/metrics', async (c) => {
    metrics.inflight.set({}, inflight.inflight)
    metrics.ready.set({}, draining() ? 0 : 1)
    return c.body(await metrics.render(), 200, { 'content-type': metrics.contentType })
  })

  const index = (): ModelIndex => ({
    models: [...deps.repository.models.values()].map((m) => ({ name: m.card.name, version: m.card.version, state: 'READY' })),
  })
  app.get('/v2/models', (c) => c.json(index()))
  app.post('/v2/repository/index', (c) => c.json(index().models))

  const model = (name: string): LoadedModel => {
    const found = deps.repository.models.get(name)
    if (!found) throw new RunnerError('model_not_found', `model ${name} is not served here`)
    return found
  }

  app.get('/v2/models/:name', (c) => c.json(servedModelMetadata(model(c.req.param('name')))))
  app.get('/v2/models/:name/ready', (c) => {
    const found = deps.repository.models.get(c.req.param('name'))
    const ready = Boolean(found) && !draining()
    return c.json({ name: c.req.param('name'), ready }, ready ? 200 : 503)
  })

  app.post(
    '/v2/models/:name/infer',
    async (c, next) => {
      if (draining()) throw new RunnerError('no_runner_available', 'runner is shutting down')
      inflight.enter()
      const started = performance.now()
      try {
        await next()
      } finally {
        inflight.leave()
        const name = c.req.param('name')
        if (deps.repository.models.has(name)) {
          metrics.requests.inc({ code: c.get('errorCode') ?? 'ok', model: name })
          metrics.latency.observe({ model: name }, (performance.now() - started) / 1000)
        }
      }
    },
    boundedBody(deps.maxBodyBytes),
    async (c) => {
      const found = model(c.req.param('name'))
      c.set('model', found.card.name)
      // Counted from here, so a model removed from the repository is retired only after this request.
      inflightByModel.set(found, (inflightByModel.get(found) ?? 0) + 1)
      try {
        const body = new Uint8Array(await c.req.arrayBuffer())
        let decoded: ReturnType<typeof decodeInferRequest>
        try {
          decoded = decodeInferRequest(body, c.req.header(INFERENCE_HEADER_LENGTH) ?? null)
        } catch (error) {
          if (error instanceof InferBodyError) throw new RunnerError('invalid_request', error.message)
          throw error
        }
        const started = performance.now()
        const inputs = readInferInputs(found, decoded.request.inputs, decoded.binary)
        const count = inputs.kind === 'images' ? inputs.images.length : inputs.tensors.length
        c.set('images', count)
        // Read beside the scoring; the reader never rejects, so a failed scoring leaves nothing unhandled.
        const credentials = inputs.kind === 'images' ? contentCredentials.readAll(inputs.images) : undefined
        // The connection's signal aborts when the caller (the edge) goes away: this request's decodes still waiting
        // are dropped instead of decoded for nobody.
        const rows = await score(schedulerFor(found), inputs, { owner: c.req.raw, signal: c.req.raw.signal }, (image, detail) =>
          log({ level: 'warn', msg: 'image could not be decoded', request_id: c.get('requestId'), image, error: detail }),
        )
        metrics.images.inc({ model: found.card.name }, count)
        const labels = found.card.labels.length
        const data = new Array<number>(count * labels)
        for (const [i, row] of rows.entries()) for (const [j, p] of row.entries()) data[i * labels + j] = p
        const response: InferResponse = {
          model_name: found.card.name,
          model_version: found.card.version,
          ...(decoded.request.id ? { id: decoded.request.id } : {}),
          parameters: { compute_ms: Math.round((performance.now() - started) * 100) / 100 },
          outputs: [{ name: PROBABILITIES_OUTPUT, datatype: 'FP32', shape: [count, labels], data }],
          ...(credentials ? { content_credentials: await credentials } : {}),
        }
        const wanted = decoded.request.outputs
        if (!wanted || wanted.some((o) => o.name === INPUT_STATISTICS_OUTPUT)) {
          const statistics =
            inputs.kind === 'images'
              ? inputs.images.map((image) => inputStatisticsOf(image) ?? tileStatisticsOf(image))
              : inputs.tensors.map((t) => channelStatistics(t, found.card.input))
          if (statistics.every((row) => row !== undefined)) {
            response.outputs.push({ name: INPUT_STATISTICS_OUTPUT, datatype: 'FP32', shape: [count, 6], data: statistics.flat() })
          }
        }
        return c.json(response)
      } finally {
        leaveModel(found)
      }
    },
  )

  let closed: Promise<void> | undefined
  const close = () => (closed ??= Promise.all([...schedulers.values()].map((scheduler) => scheduler.close())).then(() => undefined))
  return { app, close, retireModel }
}

/** OIP v2 model metadata with where this runner runs the model: its execution provider and WebGPU adapter. */
function servedModelMetadata(model: LoadedModel): ModelMetadata {
  return { ...modelMetadata(model), execution: { provider: model.provider, ...(model.adapter ? { adapter: model.adapter } : {}) } }
}

/** What a client is told about an image that could not be decoded; the decoder's own words go to the runner's log. */
const CORRUPT_IMAGE_MESSAGE = 'image could not be decoded: the file is damaged, cut short, or not what its header says'

async function score(
  scheduler: ModelScheduler,
  inputs: ReturnType<typeof readInferInputs>,
  request: ScoreRequest,
  onCorrupt: (image: number, detail: string) => void,
): Promise<Float32Array[]> {
  try {
    if (inputs.kind === 'images' && scheduler.model.tiles) return await scoreImagesByTiles(scheduler, scheduler.model.tiles, inputs.images, request)
    return inputs.kind === 'images' ? await scheduler.scoreImages(inputs.images, request) : await scheduler.scoreTensors(inputs.tensors)
  } catch (error) {
    if (request.signal?.aborted) throw new RunnerError('client_closed', 'the caller closed the connection; its queued decodes were dropped')
    if (error instanceof QueueFullError) throw new RunnerError('queue_full', error.message, undefined, error.retryAfterSeconds)
    if (error instanceof ImagePreprocessError) {
      const cause = error.cause
      if (cause instanceof ImageDecodeError && cause.code === 'corrupt_image') {
        onCorrupt(error.index, cause.message)
        throw new RunnerError('corrupt_image', CORRUPT_IMAGE_MESSAGE, error.index)
      }
      if (cause instanceof ImageDecodeError) throw new RunnerError(cause.code, cause.message, error.index)
      throw cause
    }
    throw error
  }
}

/**
 * 413 `payload_too_large` for bodies over `maxBytes`. A body framed by a declared length within the limit is
 * passed on without touching it (the HTTP server reads exactly that many bytes), which keeps
 * @hono/node-server's direct body read from the socket; hono's `bodyLimit` always opens the body as a web
 * stream first. Chunked bodies are counted by `bodyLimit`.
 */
function boundedBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => new RunnerError('payload_too_large', `request body is over ${maxBytes} bytes`)
  const counted = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge()
    },
  })
  return async function boundedBody(c, next) {
    const declared = Number(c.req.header('content-length') ?? Number.NaN)
    if (c.req.header('transfer-encoding') === undefined && declared >= 0) {
      if (declared > maxBytes) throw tooLarge()
      return next()
    }
    return counted(c, next)
  }
}
