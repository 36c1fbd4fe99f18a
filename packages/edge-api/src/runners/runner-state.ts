import type { ModelMetadata, RunnerModelExecution } from '@genimage/shared'
import type { RunnerClient } from './runner-client.ts'

/** What the edge knows about one runner. Read-only outside the pool: only `RunnerPool` methods change it. */
export interface RunnerState {
  readonly name: string
  readonly client: RunnerClient
  /** `static`: from RUNNER_URLS; `registry`: announced in the database with a fresh heartbeat. */
  readonly origin: 'static' | 'registry'
  readonly ready: boolean
  /** The runner said (through the registry) it is shutting down: no new work goes to it. */
  readonly draining: boolean
  /** The runner's own last word in the registry on readiness (static runners: always true). */
  readonly announcedReady: boolean
  readonly models: ReadonlyMap<string, ModelMetadata>
  /** Requests this edge instance has in flight on the runner (counted by `RunnerPool.run`). */
  readonly inflight: number
  /** In-flight count the runner last reported through the registry (all edges together). */
  readonly reportedInflight: number
  readonly checkedAt: number
  readonly consecutiveFailures: number
  /** `open`: failed too often; nothing is sent until a health check passes again. */
  readonly breaker: 'closed' | 'open'
  readonly openedAt: number
  readonly lastError?: string
}

/** A runner found in the registry. */
export interface DiscoveredRunner {
  name: string
  url: string
  ready: boolean
  draining: boolean
  inflight: number
}

/** Where runners beyond the static URLs come from (the libSQL registry in production). */
export interface RunnerSource {
  /** Runners with a fresh heartbeat that can serve detection. */
  list(): Promise<DiscoveredRunner[]>
}

/** The pool's answer to "who serves this model?": a runner and the model's metadata, or why there is none. */
export type RunnerChoice =
  | { ok: true; runner: RunnerState; model: ModelMetadata }
  | { ok: false; reason: 'no_runner_available' | 'model_not_found'; message: string }

/** A model served by the pool: its metadata (from the first runner seen), how many runners serve it, and where each runs it. */
export interface ServedModel {
  metadata: ModelMetadata
  runners: number
  servedBy: RunnerModelExecution[]
}
