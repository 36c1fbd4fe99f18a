import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { Readable } from 'node:stream'
import { ApiError } from '../errors.ts'
import { isPublicAddress } from '../inputs/ip-ranges.ts'

/**
 * A DNS lookup for outgoing connections that fails when any address of the name is not allowed, so the
 * address checked is the address connected to (no window for DNS rebinding between check and connect).
 */
export function allowedOnlyLookup(isAllowed: (address: string) => boolean = isPublicAddress): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, found) => {
      if (error) return callback(error, '', 0)
      const addresses = found as unknown as LookupAddress[]
      const refused = addresses.find((a) => !isAllowed(a.address))
      if (refused || addresses.length === 0) {
        const why = refused ? `${hostname} resolves to ${refused.address}, a loopback, private, link-local or reserved address` : `${hostname} has no address`
        return callback(new ApiError('url_not_allowed', why, { details: { host: hostname, address: refused?.address } }), '', 0)
      }
      if (options.all) return callback(null, addresses)
      const first = addresses[0] as LookupAddress
      return callback(null, first.address, first.family)
    })
  }
}

const NULL_BODY = new Set([101, 204, 205, 304])

function toResponse(res: IncomingMessage): Response {
  const headers = new Headers()
  for (const [name, value] of Object.entries(res.headers)) {
    for (const v of [value ?? []].flat()) headers.append(name, v)
  }
  const status = res.statusCode ?? 502
  const body = NULL_BODY.has(status) ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>)
  return new Response(body, { status, headers })
}

/**
 * A `fetch` for `url` inputs on Node and Deno (node:http/https): connects only to addresses `isAllowed`
 * accepts, checked in the connection's own DNS lookup; never follows redirects (the caller does, checking
 * each hop); honours `init.signal`. Only what the edge's own requests need: method, headers, a string or byte body
 * (the `url` input fetch and the callback deliverer).
 */
export function createPinnedFetch(isAllowed: (address: string) => boolean = isPublicAddress): typeof fetch {
  const lookup = allowedOnlyLookup(isAllowed)
  return ((input: RequestInfo | URL, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input))
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest
      const headers = Object.fromEntries(new Headers(init.headers))
      const req = send(url, { method: init.method ?? 'GET', headers, lookup, ...(init.signal ? { signal: init.signal } : {}) }, (res) =>
        resolve(toResponse(res)),
      )
      req.once('error', reject)
      const body = init.body
      if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
        req.destroy()
        reject(new TypeError('the pinned fetch sends only string or Uint8Array bodies'))
        return
      }
      req.end(body ?? undefined)
    })) as typeof fetch
}
