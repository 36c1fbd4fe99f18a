import { ApiError } from '../errors.ts'
import { isIpLiteral, isPublicAddress } from '../inputs/ip-ranges.ts'
import type { ResolveHost } from '../inputs/url-fetch.ts'

export interface CallbackUrlRules {
  /**
   * `host:port` pairs (CALLBACK_ALLOWED_HOSTS) that may be private: an in-cluster receiver, or a test's loopback
   * server. Any other host must resolve to public addresses only, as for `url` inputs.
   */
  allowedHosts: readonly string[]
  /** DNS; without it only IP literals and allowed hosts can be checked, and other names are refused. */
  resolveHost?: ResolveHost
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' }

/** `host:port` of a URL, port filled in and IPv6 in brackets: the form CALLBACK_ALLOWED_HOSTS lists. */
export function callbackHostKey(url: URL): string {
  return `${url.hostname.toLowerCase()}:${url.port || DEFAULT_PORTS[url.protocol]}`
}

/** Whether a URL's `host:port` is on the allow-list (entries compared case-insensitively). */
export function isAllowedCallbackHost(url: URL, allowedHosts: readonly string[]): boolean {
  const key = callbackHostKey(url)
  return allowedHosts.some((entry) => entry.trim().toLowerCase() === key)
}

const refuse = (message: string, details?: Record<string, unknown>) => new ApiError('callback_url_not_allowed', message, details ? { details } : {})

/**
 * Checks a `callback_url` before a job is accepted, and again before each delivery: an absolute http(s) URL of at
 * most 2,048 characters, without credentials, whose host is on the allow-list or resolves only to public addresses.
 * @throws ApiError `callback_url_not_allowed` (400) saying which rule failed.
 */
export async function checkCallbackUrl(text: string, rules: CallbackUrlRules): Promise<URL> {
  if (text.length > 2048) throw refuse('callback_url is longer than 2048 characters')
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw refuse('callback_url is not a valid absolute URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(`callback_url must be http or https, not ${url.protocol}`)
  if (url.username || url.password) throw refuse('callback_url must not carry credentials; the callback is signed instead')
  if (isAllowedCallbackHost(url, rules.allowedHosts)) return url
  const host = url.hostname.replace(/^\[|\]$/g, '')
  let addresses: string[]
  if (isIpLiteral(host)) addresses = [host]
  else if (!rules.resolveHost) throw refuse(`cannot check ${host}: this edge has no resolver; list it in CALLBACK_ALLOWED_HOSTS`)
  else {
    try {
      addresses = await rules.resolveHost(host)
    } catch (error) {
      throw refuse(`could not resolve ${host}: ${error instanceof Error ? error.message : String(error)}`, { host })
    }
  }
  if (addresses.length === 0) throw refuse(`${host} has no address`, { host })
  const refused = addresses.find((address) => !isPublicAddress(address))
  if (refused) {
    throw refuse(
      `${host} resolves to ${refused}, a loopback, private, link-local or reserved address; list ${callbackHostKey(url)} in CALLBACK_ALLOWED_HOSTS to allow it`,
      {
        host,
        address: refused,
      },
    )
  }
  return url
}
