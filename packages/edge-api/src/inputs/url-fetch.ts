import { ApiError } from '../errors.ts'
import { isIpLiteral, isPublicAddress } from './ip-ranges.ts'
import { concatChunks } from './body-reader.ts'

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
  const deadline = new Deadline(options.timeoutMs)
  try {
    let url = parseAllowedUrl(input)
    for (let hop = 0; ; hop++) {
      await deadline.race(assertPublicHost(url, options.resolveHost))
      let response: Response
      try {
        response = await deadline.race(fetchFn(url, { redirect: 'manual', signal: deadline.signal, headers: { accept: 'image/*' } }))
      } catch (error) {
        throw deadline.explain(error, () => `could not fetch ${url.host}: ${messageOf(error)}`)
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
      return await readCapped(response, options.maxBytes, deadline, url.host)
    }
  } finally {
    deadline.clear()
  }
}

/**
 * One deadline for a whole URL fetch. Fetch implementations fail differently when their signal aborts (the
 * platform fetch errors the body stream with an `AbortError`, Node's pinned fetch destroys the socket, a test
 * double may ignore the signal): every wait is raced against the deadline itself, and any failure after it
 * passed is reported as the deadline, so the answer is the same 422 whichever fetch is used.
 */
class Deadline {
  private readonly controller = new AbortController()
  private readonly timer: ReturnType<typeof setTimeout>
  private readonly expired: Promise<never>

  constructor(private readonly timeoutMs: number) {
    this.expired = new Promise<never>((_, reject) => {
      this.controller.signal.addEventListener('abort', () => reject(this.timedOut()), { once: true })
    })
    this.expired.catch(() => {})
    this.timer = setTimeout(() => this.controller.abort(), timeoutMs)
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** `work`, unless the deadline passes first. */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.signal.aborted) {
      work.catch(() => {})
      return Promise.reject(this.timedOut())
    }
    return Promise.race([work, this.expired])
  }

  /** The ApiError to answer for a failure: itself if it is one, the deadline if it has passed, otherwise `url_fetch_failed`. */
  explain(error: unknown, message: () => string): ApiError {
    if (error instanceof ApiError) return error
    if (this.signal.aborted) return this.timedOut()
    return new ApiError('url_fetch_failed', message())
  }

  clear(): void {
    clearTimeout(this.timer)
  }

  private timedOut(): ApiError {
    return new ApiError('url_fetch_failed', `fetching the image URL took longer than ${this.timeoutMs} ms`)
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

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
      throw new ApiError('url_fetch_failed', `could not resolve ${host}: ${messageOf(error)}`)
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

async function readCapped(response: Response, maxBytes: number, deadline: Deadline, host: string): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = () => new ApiError('payload_too_large', `the image at the URL is over the limit of ${maxBytes} bytes`)
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {})
    throw tooLarge()
  }
  if (!response.body) return new Uint8Array(0)
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>
      try {
        next = await deadline.race(reader.read())
      } catch (error) {
        throw deadline.explain(error, () => `the connection to ${host} broke while the image was read: ${messageOf(error)}`)
      }
      if (next.done) break
      total += next.value.byteLength
      if (total > maxBytes) throw tooLarge()
      chunks.push(next.value)
    }
  } finally {
    reader.cancel().catch(() => {})
  }
  return concatChunks(chunks, total)
}
