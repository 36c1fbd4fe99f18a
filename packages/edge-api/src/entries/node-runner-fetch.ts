import { Agent, type IncomingMessage, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

const NULL_BODY = new Set([101, 204, 205, 304])

/**
 * `fetch` for edge → runner calls on Node: node:http with a keep-alive agent instead of the global (undici)
 * fetch, which costs about 0.4 ms more CPU per request (measured POSTing 60 KB to a loopback server, 2 cores).
 * On a detect path that shares its cores with decoding and inference, that is throughput lost.
 *
 * Handles what `RunnerClient` sends: an absolute http(s) URL string, a string or Uint8Array body, plain or
 * Headers headers, and an abort signal (a timeout rejects with the signal's reason). Anything else (a Request
 * object, a stream body) goes to the global fetch unchanged. The whole response body is read before the
 * Response is returned: runner answers are small JSON documents.
 *
 * @example new RunnerPool(urls, { fetchFn: createNodeRunnerFetch() })
 */
export function createNodeRunnerFetch(options: { maxSocketsPerRunner?: number } = {}): typeof fetch & { close(): void } {
  // An idle socket is closed after 4 s, before Node's server side does at 5 s (keepAliveTimeout): reusing one the
  // runner is closing at that moment fails with "socket hang up", which would count as the runner being down.
  const agentOptions = { keepAlive: true, maxSockets: options.maxSocketsPerRunner ?? 256, timeout: 4_000 }
  const http = new Agent(agentOptions)
  const https = new HttpsAgent(agentOptions)
  const runnerFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body ?? undefined
    const plainBody = body === undefined || typeof body === 'string' || body instanceof Uint8Array
    const url = input instanceof Request ? undefined : new URL(input)
    if (!url || !plainBody || (url.protocol !== 'http:' && url.protocol !== 'https:')) return fetch(input, init)
    const signal = init.signal ?? undefined
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason)
      const headers: Record<string, string> = Object.fromEntries(new Headers(init.headers))
      if (body !== undefined) headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength)
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest
      const req = send(url, { method: init.method ?? 'GET', headers, agent: url.protocol === 'https:' ? https : http }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.once('error', fail)
        res.once('end', () => {
          signal?.removeEventListener('abort', onAbort)
          try {
            resolve(toResponse(res, Buffer.concat(chunks)))
          } catch (error) {
            reject(error)
          }
        })
      })
      function fail(error: unknown) {
        signal?.removeEventListener('abort', onAbort)
        reject(error)
      }
      function onAbort() {
        req.destroy()
        fail(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      req.once('error', fail)
      req.end(body)
    })
  }
  return Object.assign(runnerFetch as typeof fetch, {
    close: () => {
      http.destroy()
      https.destroy()
    },
  })
}

function toResponse(res: IncomingMessage, body: Buffer): Response {
  const headers = new Headers()
  for (const [name, value] of Object.entries(res.headers)) {
    for (const v of [value ?? []].flat()) headers.append(name, v)
  }
  const status = res.statusCode ?? 502
  return new BufferedResponse(NULL_BODY.has(status) ? new Uint8Array(0) : new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength), {
    status,
    headers,
  })
}

const decoder = new TextDecoder()

/**
 * A Response over a body already in memory whose reads (`json`, `text`, `arrayBuffer`, `bytes`) decode the bytes
 * directly. A plain `new Response(bytes)` would wrap them in a web stream only to read it back, which cost about
 * 0.1 ms and a few KB of garbage per runner answer here. One read, as with any Response; `body` (a stream) is
 * not offered: the runner client never streams answers.
 */
class BufferedResponse extends Response {
  readonly #bytes: Uint8Array<ArrayBuffer>
  #used = false

  constructor(bytes: Uint8Array<ArrayBuffer>, init: ResponseInit) {
    super(null, init)
    this.#bytes = bytes
  }

  override get bodyUsed(): boolean {
    return this.#used
  }

  #take(): Uint8Array<ArrayBuffer> {
    if (this.#used) throw new TypeError('Body is unusable: it has already been read')
    this.#used = true
    return this.#bytes
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    try {
      return Promise.resolve(this.#take())
    } catch (error) {
      return Promise.reject(error)
    }
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes()
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  }

  override async blob(): Promise<Blob> {
    return new Blob([await this.bytes()], { type: this.headers.get('content-type') ?? '' })
  }

  override async text(): Promise<string> {
    return decoder.decode(await this.bytes())
  }

  override async json(): Promise<unknown> {
    return JSON.parse(await this.text())
  }
}
