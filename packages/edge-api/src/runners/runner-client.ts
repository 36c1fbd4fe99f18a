import {
  encodeBinaryInferRequest,
  encodeBytesTensor,
  IMAGE_BYTES_INPUT,
  InferResponse,
  ModelIndex,
  ModelMetadata,
  PROBABILITIES_OUTPUT,
  type Result,
} from '@genimage/shared'

export type RunnerFailure = { code: string; message: string; image?: number; retryAfterSeconds?: number }
export type RunnerResult<T> = Result<T, RunnerFailure>

export interface Scores {
  /** Probabilities per image, in label order. */
  probabilities: number[][]
  computeMs: number
}

/** Talks Open Inference Protocol v2 to one runner. Every call returns a Result; none throws. */
export class RunnerClient {
  constructor(
    readonly url: string,
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
    private readonly timeoutMs = 30_000,
  ) {}

  async ready(): Promise<boolean> {
    const r = await this.call('/v2/health/ready', { method: 'GET' })
    return r.ok
  }

  async models(): Promise<RunnerResult<ModelIndex['models']>> {
    const r = await this.call('/v2/repository/index', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
    if (!r.ok) return r
    const parsed = ModelIndex.shape.models.safeParse(r.data)
    return parsed.success ? { ok: true, data: parsed.data } : invalid('repository index')
  }

  async metadata(model: string): Promise<RunnerResult<ModelMetadata>> {
    const r = await this.call(`/v2/models/${encodeURIComponent(model)}`, { method: 'GET' })
    if (!r.ok) return r
    const parsed = ModelMetadata.safeParse(r.data)
    return parsed.success ? { ok: true, data: parsed.data } : invalid('model metadata')
  }

  /** Sends encoded images as one BYTES tensor and returns the model's probabilities per image. */
  async infer(model: string, images: Uint8Array[], requestId: string): Promise<RunnerResult<Scores>> {
    const tensor = encodeBytesTensor(images)
    const { body, headers } = encodeBinaryInferRequest(
      {
        id: requestId,
        inputs: [{ name: IMAGE_BYTES_INPUT, datatype: 'BYTES', shape: [images.length], parameters: { binary_data_size: tensor.byteLength } }],
        outputs: [{ name: PROBABILITIES_OUTPUT }],
      },
      [tensor],
    )
    const r = await this.call(`/v2/models/${encodeURIComponent(model)}/infer`, {
      method: 'POST',
      body,
      headers: { ...headers, 'x-request-id': requestId },
    })
    if (!r.ok) return r
    const parsed = InferResponse.safeParse(r.data)
    if (!parsed.success) return invalid('inference response')
    const output = parsed.data.outputs.find((o) => o.name === PROBABILITIES_OUTPUT)
    const width = output?.shape[1]
    if (!output || output.shape[0] !== images.length || !width) return invalid('inference output shape')
    const probabilities = Array.from({ length: images.length }, (_, i) => output.data.slice(i * width, (i + 1) * width))
    const computeMs = Number(parsed.data.parameters?.compute_ms ?? 0)
    return { ok: true, data: { probabilities, computeMs } }
  }

  private async call(path: string, init: RequestInit): Promise<RunnerResult<unknown>> {
    let response: Response
    try {
      response = await this.fetchFn(`${this.url}${path}`, { ...init, signal: AbortSignal.timeout(this.timeoutMs) })
    } catch (error) {
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
    if (response.ok) return { ok: true, data: body }
    const err = (body ?? {}) as { error?: unknown; code?: unknown; image?: unknown }
    const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN)
    const busy = response.status === 429
    return {
      ok: false,
      status: response.status,
      retryable: busy || response.status === 503 || response.status === 502,
      error: {
        code: busy ? 'queue_full' : typeof err.code === 'string' ? err.code : 'runner_error',
        message: typeof err.error === 'string' ? err.error : `runner answered ${response.status}`,
        ...(typeof err.image === 'number' ? { image: err.image } : {}),
        ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {}),
      },
    }
  }
}

function invalid<T>(what: string): RunnerResult<T> {
  return { ok: false, status: 502, retryable: false, error: { code: 'runner_error', message: `runner sent an invalid ${what}` } }
}
