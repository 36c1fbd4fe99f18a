import { DetectionsPage, type DetectionsQuery, ErrorResponse } from '@genimage/shared'
import { type ApiTarget, keyAdvice } from '../api-target.ts'
import { ApiCallError } from '../experiments/api-client.ts'

/** The filters of `GET /v1/detections` as the CLI sends them (times already resolved to ISO text). */
export type DetectionsFilters = Pick<DetectionsQuery, 'model' | 'since' | 'until'> & { verdict?: 'ai' | 'real' }

/** The query string of one page request: the filters, `limit` and `cursor`, only those set. */
export function detectionsQueryString(filters: DetectionsFilters, limit: number, cursor?: string): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries({ ...filters, limit: String(limit), cursor })) if (value !== undefined) params.set(name, value)
  return params.toString()
}

/**
 * Reads one page of `GET /v1/detections`. A key saved by `keys create --save` that this edge calls not valid (401) is
 * dropped and the call made once more without it, as the other API commands do; a 401 or 403 says how to get a key
 * with the `detect` scope.
 */
export async function fetchDetectionsPage(
  target: ApiTarget,
  filters: DetectionsFilters,
  limit: number,
  cursor?: string,
  fetchFn: typeof fetch = fetch,
): Promise<DetectionsPage> {
  const url = `${target.baseUrl}/v1/detections?${detectionsQueryString(filters, limit, cursor)}`
  const call = (apiKey: string | undefined) => fetchFn(url, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} })
  let response: Response
  try {
    response = await call(target.apiKey)
    if (response.status === 401 && target.keyFrom === 'config') response = await call(undefined)
  } catch (error) {
    throw new ApiCallError(
      0,
      'unreachable',
      `cannot reach the edge API at ${target.baseUrl} (${(error as Error).message}); start it with \`npx genimage start\`, or pass --api or set GENIMAGE_API`,
    )
  }
  const body: unknown = await response.json().catch(() => undefined)
  if (!response.ok) {
    const parsed = ErrorResponse.safeParse(body)
    if (!parsed.success) throw new ApiCallError(response.status, 'http_error', `GET /v1/detections answered ${response.status}`)
    const { code, message } = parsed.data.error
    const advice = keyAdvice(code, 'detect')
    throw new ApiCallError(response.status, code, `${code}: ${message}${advice ? `; ${advice}` : ''}`)
  }
  return DetectionsPage.parse(body)
}

/**
 * Every detection matching `filters`, newest first, page after page (`pageSize` rows each) until the last;
 * `onPage` sees each page as it arrives and whether more follow.
 */
export async function forEachDetectionsPage(
  target: ApiTarget,
  filters: DetectionsFilters,
  onPage: (page: DetectionsPage) => Promise<void> | void,
  options: { pageSize?: number; signal?: AbortSignal; fetchFn?: typeof fetch } = {},
): Promise<void> {
  let cursor: string | undefined
  do {
    if (options.signal?.aborted) return
    const page = await fetchDetectionsPage(target, filters, options.pageSize ?? 500, cursor, options.fetchFn)
    await onPage(page)
    cursor = page.next_cursor ?? undefined
  } while (cursor)
}
