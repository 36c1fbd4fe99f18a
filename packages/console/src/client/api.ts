import { ErrorResponse } from '@genimage/shared'

const KEY_STORAGE = 'genimage.apiKey'

/** The API key kept for this tab only (`sessionStorage`), so closing the tab forgets it. */
export const apiKey = {
  get: (): string | undefined => sessionStorage.getItem(KEY_STORAGE) ?? undefined,
  set: (key: string) => sessionStorage.setItem(KEY_STORAGE, key),
  clear: () => sessionStorage.removeItem(KEY_STORAGE),
}

/** An answer of the API that was not a success, with its stable code and message (or a network failure). */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly body?: unknown,
  ) {
    super(message)
  }
}

/** Listeners told when the API refuses the key (401), so the console can ask for one. */
const unauthorizedListeners = new Set<(failure: ApiFailure) => void>()
export function onUnauthorized(listener: (failure: ApiFailure) => void): () => void {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

/** Headers every call carries: the key when one is kept. */
export function authHeaders(key = apiKey.get()): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {}
}

/** Turns a non-2xx answer into an {@link ApiFailure}, parsing the API's one error shape. */
export async function failureOf(response: Response): Promise<ApiFailure> {
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  const parsed = ErrorResponse.safeParse(body)
  const failure = parsed.success
    ? new ApiFailure(response.status, parsed.data.error.code, parsed.data.error.message, parsed.data.error.details, body)
    : new ApiFailure(response.status, `http_${response.status}`, text.slice(0, 300) || response.statusText, undefined, body)
  if (response.status === 401) for (const listener of unauthorizedListeners) listener(failure)
  return failure
}

/** Calls the API on this origin; resolves with the parsed JSON, rejects with an {@link ApiFailure}. */
export async function api<T = unknown>(path: string, init: RequestInit & { parse?: (body: unknown) => T } = {}): Promise<T> {
  let response: Response
  try {
    response = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } })
  } catch (error) {
    throw new ApiFailure(0, 'network_error', `the edge could not be reached: ${(error as Error).message}`)
  }
  if (!response.ok) throw await failureOf(response)
  const body: unknown = await response.json()
  return init.parse ? init.parse(body) : (body as T)
}

/** What each refusal means to someone who dropped a file, by code (the API's message follows it). */
const MEANINGS: Record<string, string> = {
  unsupported_media_type: 'not an image this service reads (JPEG, PNG, WebP, GIF, AVIF or TIFF)',
  payload_too_large: 'the file is over the upload size limit',
  image_too_large: 'the image has more pixels than the limit',
  corrupt_image: 'the file is damaged or cut short and could not be decoded',
  missing_image: 'no image was sent',
  model_not_found: 'no runner serves that model',
  default_model_ambiguous: 'several models are served and none is the default: pick one',
  no_runner_available: 'no detector runner is ready',
  runner_error: 'the detector runner failed on this image',
  runner_timeout: 'the detector runner did not answer in time',
  queue_full: 'the runners are busy: try again shortly',
  rate_limited: 'this key is over its per-minute limit',
  server_busy: 'the edge is busy: try again shortly',
  unauthorized: 'an API key is needed, or the one given is not valid',
  forbidden: 'this key is not allowed to do that',
  url_not_allowed: 'that URL may not be fetched here',
  url_fetch_failed: 'the image at that URL could not be fetched',
  invalid_request: 'the request is not valid',
  not_found: 'not found',
  network_error: 'the edge could not be reached',
}

/** "415 · unsupported_media_type — not an image this service reads …" for a failure. */
export function describeFailure(failure: ApiFailure): { title: string; meaning: string } {
  const status = failure.status ? `${failure.status} · ` : ''
  return { title: `${status}${failure.code}`, meaning: MEANINGS[failure.code] ?? 'the request was refused' }
}
