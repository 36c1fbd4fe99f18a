import type { RunnerPool } from '../runners/runner-pool.ts'

/** Upper bounds (seconds) of the request latency histogram. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

interface Histogram {
  counts: number[]
  sum: number
  count: number
}

const escapeLabel = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')
const labels = (pairs: Record<string, string>) =>
  `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`

/**
 * The edge's counters, held in memory per instance and rendered in the Prometheus text format (0.0.4).
 * Route labels are route patterns, never raw paths, so the number of series stays bounded.
 */
export class EdgeMetrics {
  private readonly requests = new Map<string, number>()
  private readonly latency = new Map<string, Histogram>()
  private readonly errors = new Map<string, number>()
  private retries = 0

  /** Counts one answered request and its duration. */
  observeRequest(route: string, method: string, status: number, seconds: number): void {
    const key = labels({ route, method, status: String(status) })
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1)
    const histogram = this.latency.get(route) ?? { counts: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 }
    LATENCY_BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) histogram.counts[i] = (histogram.counts[i] ?? 0) + 1
    })
    histogram.sum += seconds
    histogram.count += 1
    this.latency.set(route, histogram)
  }

  /** Counts one error answer by its stable code. */
  countError(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1)
  }

  /** Counts one detect call sent again to another runner. */
  countRetry(): void {
    this.retries += 1
  }

  /** The exposition text, with the runner pool's current state. */
  render(pool: RunnerPool): string {
    const out: string[] = []
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    family('edge_http_requests_total', 'counter', 'HTTP requests answered, by route pattern, method and status.')
    for (const [key, n] of this.requests) out.push(`edge_http_requests_total${key} ${n}`)
    family('edge_http_request_duration_seconds', 'histogram', 'Time from request to response, by route pattern.')
    for (const [route, h] of this.latency) {
      for (const [i, bound] of LATENCY_BUCKETS.entries()) {
        out.push(`edge_http_request_duration_seconds_bucket${labels({ route, le: String(bound) })} ${h.counts[i]}`)
      }
      out.push(`edge_http_request_duration_seconds_bucket${labels({ route, le: '+Inf' })} ${h.count}`)
      out.push(`edge_http_request_duration_seconds_sum${labels({ route })} ${h.sum}`)
      out.push(`edge_http_request_duration_seconds_count${labels({ route })} ${h.count}`)
    }
    family('edge_errors_total', 'counter', 'Error answers by stable error code.')
    for (const [code, n] of this.errors) out.push(`edge_errors_total${labels({ code })} ${n}`)
    family('edge_runner_retries_total', 'counter', 'Detect calls retried on another runner after a connection error, 502, 503 or 429.')
    out.push(`edge_runner_retries_total ${this.retries}`)
    const runners = pool.runners
    family('edge_runners', 'gauge', 'Runners known to this edge, by state.')
    const routable = runners.filter((r) => pool.routable(r)).length
    const open = runners.filter((r) => r.breaker === 'open').length
    out.push(`edge_runners${labels({ state: 'routable' })} ${routable}`)
    out.push(`edge_runners${labels({ state: 'breaker_open' })} ${open}`)
    out.push(`edge_runners${labels({ state: 'draining' })} ${runners.filter((r) => r.draining).length}`)
    out.push(`edge_runners${labels({ state: 'not_ready' })} ${runners.filter((r) => !r.ready).length}`)
    family('edge_runner_inflight', 'gauge', 'Requests this edge has in flight on each runner.')
    for (const r of runners) out.push(`edge_runner_inflight${labels({ runner: r.name, origin: r.origin })} ${r.inflight}`)
    family('edge_runner_consecutive_failures', 'gauge', 'Failures in a row per runner (the breaker opens at its threshold).')
    for (const r of runners) out.push(`edge_runner_consecutive_failures${labels({ runner: r.name })} ${r.consecutiveFailures}`)
    return `${out.join('\n')}\n`
  }
}
