/**
 * Which bearer token the edge sends to which runner. Runners of this project started with `RUNNER_TOKEN` refuse
 * requests without it; Triton and KServe servers take none, so the token is optional per runner URL:
 *
 * - `RUNNER_TOKEN=<secret>` is sent to every runner: the static `RUNNER_URLS` and the runners announced in the
 *   database;
 * - a `RUNNER_URLS` entry may end with `#no-token` (send none: a Triton or KServe server) or `#token-env=NAME` (send
 *   the token held in the environment variable `NAME`), e.g.
 *   `RUNNER_URLS=http://runner-a:8788,http://triton:8000#no-token,http://runner-b:8788#token-env=RUNNER_B_TOKEN`.
 *
 * The fragment never reaches the network, logs or recorded detections: the URLs routed to are the ones without it.
 */
export interface RunnerTokens {
  /** Sent to every runner without a setting of its own (`RUNNER_TOKEN`). */
  fallback?: string
  /** Per static runner URL (without trailing slash): its token, or null for none. */
  byUrl: Record<string, string | null>
}

/** Shortest token accepted, so a guessable one is refused at start-up. */
export const MIN_RUNNER_TOKEN_LENGTH = 16

const trimUrl = (url: string) => url.replace(/\/+$/, '')

/**
 * Splits a `RUNNER_URLS` list into the URLs to route to and each one's token.
 * @throws Error naming the entry or variable that is wrong (an unknown fragment, an unset or short token).
 */
export function parseRunnerUrls(list: string, env: Record<string, string | undefined>, fallback?: string): { urls: string[]; tokens: RunnerTokens } {
  const tokens: RunnerTokens = { byUrl: {}, ...(fallback ? { fallback } : {}) }
  const urls: string[] = []
  for (const entry of list.split(',').map((item) => item.trim())) {
    if (!entry) continue
    const hash = entry.indexOf('#')
    const url = trimUrl(hash < 0 ? entry : entry.slice(0, hash))
    urls.push(url)
    if (hash < 0) continue
    const setting = entry.slice(hash + 1)
    if (setting === 'no-token') tokens.byUrl[url] = null
    else if (setting.startsWith('token-env=')) {
      const name = setting.slice('token-env='.length)
      const token = env[name]
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid edge environment: RUNNER_URLS: ${url}#token-env= needs a variable name`)
      if (!token || token.length < MIN_RUNNER_TOKEN_LENGTH) {
        throw new Error(`invalid edge environment: ${name} (the token of ${url} in RUNNER_URLS) must be set, at least ${MIN_RUNNER_TOKEN_LENGTH} characters`)
      }
      tokens.byUrl[url] = token
    } else {
      throw new Error(`invalid edge environment: RUNNER_URLS: ${url}#${setting.slice(0, 40)}: use #no-token or #token-env=NAME`)
    }
  }
  return { urls, tokens }
}

/** The token to send to the runner at `runnerUrl`, if any. */
export function runnerTokenFor(tokens: RunnerTokens, runnerUrl: string): string | undefined {
  const own = tokens.byUrl[trimUrl(runnerUrl)]
  if (own === null) return undefined
  return own ?? tokens.fallback
}

/**
 * A fetch for runner calls that adds `Authorization: Bearer <token>` for the runner a request goes to: the
 * configured runner URL that is the longest prefix of the request URL decides, else `fallback`.
 * @example new RunnerPool(urls, { fetchFn: withRunnerTokens(fetch, tokens) })
 */
export function withRunnerTokens(fetchFn: typeof fetch, tokens: RunnerTokens): typeof fetch {
  const configured = Object.keys(tokens.byUrl).sort((a, b) => b.length - a.length)
  if (configured.length === 0 && !tokens.fallback) return fetchFn
  return ((input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = input instanceof Request ? input.url : String(input)
    const runner = configured.find((base) => url === base || url.startsWith(`${base}/`))
    const token = runner === undefined ? tokens.fallback : runnerTokenFor(tokens, runner)
    if (!token) return fetchFn(input, init)
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined))
    headers.set('authorization', `Bearer ${token}`)
    return fetchFn(input, { ...init, headers })
  }) as typeof fetch
}
