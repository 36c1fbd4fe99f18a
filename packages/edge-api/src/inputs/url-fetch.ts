import { ApiError } from '../errors.ts'
import { isIpLiteral, isPublicAddress } from './ip-ranges.ts'

/** Resolves a host name to every address it has (A and AAAA). On Node: `node:dns` (see entries/node-resolver.ts). */
export type ResolveHost = (hostname: string) => Promise<string[]>

export interface UrlFetchOptions {
  resolveHost: ResolveHost
  fetchFn?: typeof fetch
  /** Largest body accepted, in bytes. */
  maxBytes: number
  /** Deadline for the whole fetch, redirects and body included. */
  timeoutMs: number
  /** Redirects followed at most (each one checked like the first URL; default 3). */
  maxRedirects?: number
}

/**
 * Fetches an image by URL for the detect path, refusing to reach this host or private networks: every hop's
 * host is resolved first and all its addresses must be public; redirects are followed by hand and checked the
 * same way; the body is streamed with a byte cap and the whole exchange has one deadline.
 *
 * With the platform's fetch the name is resolved again when connecting, so a DNS server that answers
 * differently within milliseconds (rebinding) could still steer it. On Node and Deno the entries inject
 * `createPinnedFetch()`, which checks the addresses in the connection's own lookup and closes that gap;
 * elsewhere deny private egress at the network level too.
 * @throws ApiError `url_not_allowed`, `url_fetch_failed` or `payload_too_large`.
 */
export async function fetchImageUrl(input: string, options: UrlFetchOptions): Promise<Uint8Array<ArrayBuffer>> {
  const fetchFn = options.fetchFn ?? fetch
  const maxRedirects = options.maxRedirects ?? 3
  const deadline = new AbortController()
  const timer = setTimeout(() => deadline.abort(), options.timeoutMs)
  const timedOut = () => new ApiError('url_fetch_failed', `fetching the image URL took longer than ${options.timeoutMs} ms`)
  try {
    let url = parseAllowedUrl(input)
    for (let hop = 0; ; hop++) {
      await assertPublicHost(url, options.resolveHost)
      if (deadline.signal.aborted) throw timedOut()
      let response: Response
      try {
        response = await fetchFn(url, { redirect: 'manual', signal: deadline.signal, headers: { accept: 'image/*' } })
      } catch (error) {
        if (error instanceof ApiError) throw error
        if (deadline.signal.aborted) throw timedOut()
        throw new ApiError('url_fetch_failed', `could not fetch ${url.host}: ${error instanceof Error ? error.message : String(error)}`)
      }
      if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
        await response.body?.cancel().catch(() => {})
        if (hop >= maxRedirects) throw new ApiError('url_fetch_failed', `more than ${maxRedirects} redirects`)
        url = parseAllowedUrl(new URL(response.headers.get('location') as string, url).href)
        continue
      }
      if (!response.ok) {
        await response.body?.cancel().catch(() => {})
        throw new ApiError('url_fetch_failed', `${url.host} answered ${response.status}`)
      }
      return await readCapped(response, options.maxBytes, deadline.signal, timedOut)
    }
  } finally {
    clearTimeout(timer)
  }
}

function parseAllowedUrl(text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ApiError('url_not_allowed', 'url is not a valid absolute URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ApiError('url_not_allowed', `only http and https URLs are fetched, not ${url.protocol}`)
  if (url.username || url.password) throw new ApiError('url_not_allowed', 'URLs with credentials are not fetched')
  return url
}

async function assertPublicHost(url: URL, resolveHost: ResolveHost): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '')
  let addresses: string[]
  if (isIpLiteral(host)) addresses = [host]
  else {
    try {
      addresses = await resolveHost(host)
    } catch (error) {
      throw new ApiError('url_fetch_failed', `could not resolve ${host}: ${error instanceof Error ? error.message : String(error)}`)
    }
    if (addresses.length === 0) throw new ApiError('url_fetch_failed', `${host} has no address`)
  }
  const refused = addresses.find((a) => !isPublicAddress(a))
  if (refused) {
    throw new ApiError('url_not_allowed', `${host} resolves to ${refused}, a loopback, private, link-local or reserved address`, {
      details: { host, address: refused },
    })
  }
}

async function readCapped(response: Response, maxBytes: number, signal: AbortSignal, timedOut: () => ApiError): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = () => new ApiError('payload_too_large', `the image at the URL is over the limit of ${maxBytes} bytes`)
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {})
    throw tooLarge()
  }
  if (!response.body) return new Uint8Array(0)
  const reader = response.body.getReader()
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(timedOut())
    signal.addEventListener('abort', () => reject(timedOut()), { once: true })
  })
  aborted.catch(() => {})
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted])
      if (done) break
      total += value.byteLength
      if (total > maxBytes) throw tooLarge()
      chunks.push(value)
    }
  } finally {
    reader.cancel().catch(() => {})
  }
  const bytes = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}
