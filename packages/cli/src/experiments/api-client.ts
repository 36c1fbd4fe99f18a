import {
  CancelExperimentResponse,
  CreateExperimentResponse,
  ErrorResponse,
  ExperimentDetail,
  ExperimentListResponse,
  ExperimentProgressEvent,
  type ExperimentSpecInput,
  readServerSentEvents,
} from '@genimage/shared'
import type { z } from 'zod'
import { keyAdvice } from '../api-target.ts'

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
  /**
   * The key came from the file `keys create --save` wrote, maybe for another stack: when this edge calls it not valid
   * (401), the call is made once more without it, which succeeds where this edge requires no key.
   */
  savedKey?: boolean
  /** The key scope these calls need; a 401 or 403 says how to get a key with it. */
  scope?: string
  fetchFn?: typeof fetch
}

/** The CLI's client of `/v1/experiments`. */
export class ExperimentApi {
  private readonly baseUrl: string
  private readonly fetchFn: typeof fetch
  private apiKey: string | undefined

  constructor(private readonly options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.fetchFn = options.fetchFn ?? fetch
    this.apiKey = options.apiKey
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}), ...extra }
  }

  /** The edge's error as an {@link ApiCallError}, with what to do about a missing or too narrow key. */
  private refused(status: number, code: string, message: string): ApiCallError {
    const advice = keyAdvice(code, this.options.scope ?? 'experiments')
    return new ApiCallError(status, code, advice ? `${message}; ${advice}` : message)
  }

  /** Stops sending a saved key this edge refused (see {@link ApiClientOptions.savedKey}); true when there was one. */
  private dropSavedKey(): boolean {
    if (!this.options.savedKey || this.apiKey === undefined) return false
    this.apiKey = undefined
    return true
  }

  private async call<T>(schema: z.ZodType<T>, path: string, init: RequestInit = {}): Promise<T> {
    let response: Response
    try {
      response = await this.fetchFn(`${this.baseUrl}${path}`, { ...init, headers: this.headers(init.headers as Record<string, string>) })
    } catch (error) {
      throw new ApiCallError(
        0,
        'unreachable',
        `cannot reach the edge API at ${this.baseUrl} (${(error as Error).message}); start it with \`npx genimage start\`, or pass --api or set GENIMAGE_API`,
      )
    }
    const body: unknown = await response.json().catch(() => undefined)
    if (response.status === 401 && this.dropSavedKey()) return this.call(schema, path, init)
    if (!response.ok) {
      const parsed = ErrorResponse.safeParse(body)
      if (parsed.success) throw this.refused(response.status, parsed.data.error.code, parsed.data.error.message)
      throw new ApiCallError(response.status, 'http_error', `${init.method ?? 'GET'} ${path} answered ${response.status}`)
    }
    return schema.parse(body)
  }

  submit(spec: ExperimentSpecInput): Promise<CreateExperimentResponse> {
    return this.call(CreateExperimentResponse, '/v1/experiments', {
      method: 'POST',
      body: JSON.stringify(spec),
      headers: { 'content-type': 'application/json' },
    })
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
        if (response.status === 401 && this.dropSavedKey()) continue
        if (!response.ok || !response.body) {
          const parsed = ErrorResponse.safeParse(await response.json().catch(() => undefined))
          throw this.refused(
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
