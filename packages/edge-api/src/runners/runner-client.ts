import {
  type ContentCredentials,
  encodeBinaryInferRequest,
  encodeBytesTensor,
  IMAGE_BYTES_INPUT,
  InferError,
  InferResponse,
  INPUT_STATISTICS_OUTPUT,
  ModelIndex,
  ModelMetadata,
  PROBABILITIES_OUTPUT,
  type Result,
  ServerReady,
} from '@genimage/shared'
import type { z } from 'zod'

export type RunnerFailure = { code: string; message: string; image?: number; retryAfterSeconds?: number }
export type RunnerResult<T> = Result<T, RunnerFailure>

export interface Scores {
  /** Probabilities per image, in label order. */
  probabilities: number[][]
  /** Per image, R, G, B means then stds of the pixels the model saw; undefined when the runner does not report them. */
  statistics?: number[][]
  /** Per image, its C2PA content credentials; undefined when the runner does not read them (a Triton or KServe server). */
  contentCredentials?: ContentCredentials[]
  computeMs: number
}

/** Talks Open Inference Protocol v2 to one runner. Every call returns a Result; none throws. */
export class RunnerClient {
  constructor(
    readonly url: string,
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
    private readonly timeoutMs = 30_000,
  ) {}

  /** Whether the runner says it is ready (`GET /v2/health/ready` answers 200 with `{ ready: true }`). */
  async ready(): Promise<boolean> {
    const r = await this.call('/v2/health/ready', { method: 'GET' }, ServerReady, 'readiness answer')
    return r.ok && r.data.ready
  }

  /** The models the runner serves (its repository index). */
  models(): Promise<RunnerResult<ModelIndex['models']>> {
    const init = { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }
    return this.call('/v2/repository/index', init, ModelIndex.shape.models, 'repository index')
  }

  metadata(model: string): Promise<RunnerResult<ModelMetadata>> {
    return this.call(`/v2/models/${encodeURIComponent(model)}`, { method: 'GET' }, ModelMetadata, 'model metadata')
  }

  /**
   * Sends encoded images as one BYTES tensor and returns the model's probabilities per image. Aborting `signal` (the
   * client went away) closes the connection to the runner, which then drops the request's queued work.
   */
  async infer(model: string, images: Uint8Array[], requestId: string, signal?: AbortSignal): Promise<RunnerResult<Scores>> {
    const tensor = encodeBytesTensor(images)
    const { body, headers } = encodeBinaryInferRequest(
      {
        id: requestId,
        inputs: [{ name: IMAGE_BYTES_INPUT, datatype: 'BYTES', shape: [images.length], parameters: { binary_data_size: tensor.byteLength } }],
        outputs: [{ name: PROBABILITIES_OUTPUT }, { name: INPUT_STATISTICS_OUTPUT }],
      },
      [tensor],
    )
    const init = { method: 'POST', body, headers: { ...headers, 'x-request-id': requestId } }
    const r = await this.call(`/v2/models/${encodeURIComponent(model)}/infer`, init, InferResponse, 'inference response', signal)
    if (!r.ok) return r
    const output = r.data.outputs.find((o) => o.name === PROBABILITIES_OUTPUT)
    const width = output?.shape[1]
    if (!output || output.shape[0] !== images.length || !width) return invalid('inference output shape')
    const probabilities = Array.from({ length: images.length }, (_, i) => output.data.slice(i * width, (i + 1) * width))
    const computeMs = Number(r.data.parameters?.compute_ms ?? 0)
    const stats = r.data.outputs.find((o) => o.name === INPUT_STATISTICS_OUTPUT)
    const statistics =
      stats?.shape[0] === images.length && stats.shape[1] === 6
        ? Array.from({ length: images.length }, (_, i) => stats.data.slice(i * 6, (i + 1) * 6))
        : undefined
    const credentials = r.data.content_credentials
    const contentCredentials = credentials?.length === images.length ? credentials : undefined
    return { ok: true, data: { probabilities, computeMs, ...(statistics ? { statistics } : {}), ...(contentCredentials ? { contentCredentials } : {}) } }
  }

  /**
   * One request, its answer parsed with the shared contract: `schema` for a success, `InferError` for a
   * failure (a body that is not one gives a generic message). Never throws. Past the deadline the answer is
   * `runner_timeout` (not retried, and not a sign the runner is down: a heavy queue is slow, not gone); when
   * `signal` aborts first, `client_closed`.
   */
  private async call<T>(path: string, init: RequestInit, schema: z.ZodType<T>, what: string, signal?: AbortSignal): Promise<RunnerResult<T>> {
    let response: Response
    const deadline = AbortSignal.timeout(this.timeoutMs)
    try {
      response = await this.fetchFn(`${this.url}${path}`, { ...init, signal: signal ? AbortSignal.any([deadline, signal]) : deadline })
    } catch (error) {
      if (signal?.aborted) {
        return { ok: false, status: 499, retryable: false, error: { code: 'client_closed', message: 'the client went away; the runner call was cancelled' } }
      }
      if (deadline.aborted) {
        const message = `runner did not answer within ${this.timeoutMs} ms`
        return { ok: false, status: 504, retryable: false, error: { code: 'runner_timeout', message } }
      }
      const message = error instanceof Error ? error.message : String(error)
      return { ok: false, status: 503, retryable: true, error: { code: 'runner_unreachable', message } }
    }
    let body: unknown
    try {
      body = await response.json()
    } catch {
      return {
        ok: false,
        status: 502,
        retryable: response.status >= 500,
        error: { code: 'runner_error', message: `runner answered ${response.status} without JSON` },
      }
    }
    if (!response.ok) return failure(response, InferError.safeParse(body).data)
    const parsed = schema.safeParse(body)
    return parsed.success ? { ok: true, data: parsed.data } : invalid(what)
  }
}

/** A runner's error answer as a Result: 429 is a full queue; 429, 502 and 503 are worth trying elsewhere. */
function failure<T>(response: Response, body: InferError | undefined): RunnerResult<T> {
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN)
  const busy = response.status === 429
  return {
    ok: false,
    status: response.status,
    retryable: busy || response.status === 503 || response.status === 502,
    error: {
      code: busy ? 'queue_full' : (body?.code ?? 'runner_error'),
      message: body?.error ?? `runner answered ${response.status}`,
      ...(body?.image === undefined ? {} : { image: body.image }),
      ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {}),
    },
  }
}

function invalid<T>(what: string): RunnerResult<T> {
  return { ok: false, status: 502, retryable: false, error: { code: 'runner_error', message: `runner sent an invalid ${what}` } }
}
