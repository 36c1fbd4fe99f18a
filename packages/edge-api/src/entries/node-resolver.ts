import { lookup } from 'node:dns/promises'
import type { ResolveHost } from '../inputs/url-fetch.ts'

/** Resolves through the operating system (getaddrinfo: /etc/hosts, then DNS), as the platform's fetch will. Works on Node and Deno. */
export const nodeResolveHost: ResolveHost = async (hostname) => {
  const found = await lookup(hostname, { all: true, verbatim: true })
  return found.map((a) => a.address)
}
