import {
  CancelExperimentResponse,
  ErrorResponse,
  ExperimentDetail,
  ExperimentListResponse,
  ExperimentProgressEvent,
  type ExperimentSpecInput,
  readServerSentEvents,
} from '@genimage/shared'
import type { z } from 'zod'

/** A failed API call, with the edge's stable error code. */
export class ApiCallError extends Error {
  override name = 'ApiCallError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export interface ApiClientOptions {
  /** Edge base URL, e.g. http://127.0.0.1:8787. */
  baseUrl: string
  apiKey?: string
  fetchFn?: typeof fetch
}

/** The CLI's client of `/v1/experiments`. */
export class ExperimentApi {
  private readonly baseUrl: string
  private readonly fetchFn: typeof fetch

  constructor(private readonly options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.fetchFn = options.fetchFn ?? fetch
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}), ...extra }
  }

  private async call<T>(schema: z.ZodType<T>, path: string, init: RequestInit = {}): Promise<T> {
    let response: Response
    try {
      response = await this.fetchFn(`${this.baseUrl}${path}`, { ...init, headers: this.headers(init.headers as Record<string, string>) })
    } catch (error) {
      throw new ApiCallError(
        0,
        'unreachable',
        `cannot reach the edge API at ${this.baseUrl} (${(error as Error).message}); start it with \`npx genimage start\` or pass --api`,
      )
    }
    const body: unknown = await response.json().catch(() => undefined)
    if (!response.ok) {
      const parsed = ErrorResponse.safeParse(body)
      if (parsed.success) throw new ApiCallError(response.status, parsed.data.error.code, parsed.data.error.message)
      throw new ApiCallError(response.status, 'http_error', `${init.method ?? 'GET'} ${path} answered ${response.status}`)
    }
    return schema.parse(body)
  }

  submit(spec: ExperimentSpecInput): Promise<ExperimentDetail> {
    return this.call(ExperimentDetail, '/v1/experiments', { method: 'POST', body: JSON.stringify(spec), headers: { 'content-type': 'application/json' } })
  }

  list(): Promise<ExperimentListResponse> {
    return this.call(ExperimentListResponse, '/v1/experiments')
  }

  get(id: string): Promise<ExperimentDetail> {
    return this.call(ExperimentDetail, `/v1/experiments/${encodeURIComponent(id)}`)
  }

  cancel(id: string): Promise<CancelExperimentResponse> {
    return this.call(CancelExperimentResponse, `/v1/experiments/${encodeURIComponent(id)}/cancel`, { method: 'POST' })
  }

  /**
   * Follows the SSE progress stream until the experiment ends; reconnects when the connection drops (an
   * edge restart), since all state is in the database. Returns the last event.
   */
  async follow(
    id: string,
    onEvent: (event: ExperimentProgressEvent) => void,
    options: { signal?: AbortSignal; retries?: number } = {},
  ): Promise<ExperimentProgressEvent | undefined> {
    let last: ExperimentProgressEvent | undefined
    let failures = 0
    while (!options.signal?.aborted) {
      try {
        const response = await this.fetchFn(`${this.baseUrl}/v1/experiments/${encodeURIComponent(id)}/events`, {
          headers: this.headers({ accept: 'text/event-stream' }),
          signal: options.signal,
        })
        if (!response.ok || !response.body) {
          const parsed = ErrorResponse.safeParse(await response.json().catch(() => undefined))
          throw new ApiCallError(
            response.status,
            parsed.success ? parsed.data.error.code : 'http_error',
            parsed.success ? parsed.data.error.message : `events answered ${response.status}`,
          )
        }
        failures = 0
        for await (const message of readServerSentEvents(response.body)) {
          if (message.event === 'progress') {
            last = ExperimentProgressEvent.parse(JSON.parse(message.data))
            onEvent(last)
          } else if (message.event === 'end') return last
        }
      } catch (error) {
        if (options.signal?.aborted) return last
        if (error instanceof ApiCallError && error.status >= 400 && error.status < 500) throw error
        if (++failures > (options.retries ?? 30)) throw error
      }
      await new Promise((r) => setTimeout(r, 1000))
    }
    return last
  }
}
