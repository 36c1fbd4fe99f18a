import type { ModelMetadata, RunnerModelExecution } from '@genimage/shared'
import { RunnerClient } from './runner-client.ts'
import type { DiscoveredRunner, RunnerChoice, RunnerSource, RunnerState, ServedModel } from './runner-state.ts'

export type { DiscoveredRunner, RunnerChoice, RunnerSource, RunnerState, ServedModel } from './runner-state.ts'

/** The pool's own, writable record of a runner; every `RunnerState` the pool hands out is one of these. */
type RunnerRecord = { -readonly [K in keyof RunnerState]: RunnerState[K] }
const owned = (runner: RunnerState) => runner as RunnerRecord

export interface RunnerPoolOptions {
  /** How long a runner's readiness and model list are trusted before they are asked again (default 2000). */
  refreshMs?: number
  fetchFn?: typeof fetch
  /** How long a call to a runner may take before it is answered `runner_timeout` (default 30000). */
  timeoutMs?: number
  /** Runners announced in the database, merged with the static URLs. */
  registry?: RunnerSource
  /** How often the registry is read (default: `refreshMs`). */
  registryRefreshMs?: number
  /** Consecutive failures (connection errors, 502/503) after which the breaker opens (default 3). */
  breakerThreshold?: number
  /** How long an open breaker waits before the next health check (default 1000). */
  breakerCooldownMs?: number
  clock?: () => number
}

const trimUrl = (url: string) => url.replace(/\/+$/, '')

/**
 * The runners the edge may route to: static URLs plus, when a registry is given, runners announced there.
 * State is refreshed on demand (no background timers, so it runs on any edge runtime). Requests go to a
 * ready runner that serves the model, fewest in-flight first; a runner that fails `breakerThreshold` times
 * in a row gets no traffic until its health check passes again.
 * @example new RunnerPool(['http://127.0.0.1:8788'], { registry: libsqlRunnerSource(db) })
 */
export class RunnerPool {
  private records: RunnerRecord[]
  private readonly refreshMs: number
  private readonly registryRefreshMs: number
  private readonly breakerThreshold: number
  private readonly breakerCooldownMs: number
  private readonly clock: () => number
  private registryCheckedAt = Number.NEGATIVE_INFINITY
  private refreshing: Promise<void> | undefined
  /** Last error reading the registry, if the latest read failed (the previous list is kept). */
  registryError: string | undefined

  constructor(
    urls: readonly string[],
    private readonly options: RunnerPoolOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 2_000
    this.registryRefreshMs = options.registryRefreshMs ?? this.refreshMs
    this.breakerThreshold = options.breakerThreshold ?? 3
    this.breakerCooldownMs = options.breakerCooldownMs ?? 1_000
    this.clock = options.clock ?? Date.now
    this.records = urls.map((url) => this.newState(trimUrl(url), trimUrl(url), 'static'))
  }

  /** Every runner the pool knows, routable or not. */
  get runners(): readonly RunnerState[] {
    return this.records
  }

  /** Reads the registry and asks every runner whose state is stale for readiness and models; concurrent callers share one refresh. */
  async refresh(force = false): Promise<void> {
    this.refreshing ??= this.refreshOnce(force).finally(() => {
      this.refreshing = undefined
    })
    await this.refreshing
  }

  /** Chooses the routable runner serving `model` with the fewest requests in flight, skipping `exclude`. */
  async pick(model: string | undefined, exclude: ReadonlySet<RunnerState> = new Set()): Promise<RunnerChoice> {
    await this.refresh()
    const routable = this.records.filter((r) => this.routable(r))
    const candidates = routable.filter((r) => !exclude.has(r))
    if (candidates.length === 0) {
      const why = this.records.length === 0 ? 'no runner is configured or registered' : routable.length > 0 ? 'no other runner is ready' : 'no runner is ready'
      return { ok: false, reason: 'no_runner_available', message: why }
    }
    const name = model ?? this.defaultModel()
    if (!name) return { ok: false, reason: 'model_not_found', message: 'no runner serves any model' }
    const serving = candidates.filter((r) => r.models.has(name)).sort((a, b) => a.inflight - b.inflight || a.reportedInflight - b.reportedInflight)
    const chosen = serving[0]
    if (!chosen) {
      const servedElsewhere = routable.some((r) => r.models.has(name))
      return servedElsewhere
        ? { ok: false, reason: 'no_runner_available', message: `no other runner serving ${name} is ready` }
        : { ok: false, reason: 'model_not_found', message: `no runner serves model ${name}` }
    }
    return { ok: true, runner: chosen, model: chosen.models.get(name) as ModelMetadata }
  }

  /**
   * Calls `runner` through `call`, counting the request in flight on it until `call` settles, so that
   * `pick` sends the next request to a less busy runner.
   * @example const result = await pool.run(choice.runner, (client) => client.infer(name, images, requestId))
   */
  async run<T>(runner: RunnerState, call: (client: RunnerClient) => Promise<T>): Promise<T> {
    const record = owned(runner)
    record.inflight += 1
    try {
      return await call(record.client)
    } finally {
      record.inflight -= 1
    }
  }

  /** Every model served by a routable runner, with how many runners serve it and where each runs it. */
  async models(): Promise<ServedModel[]> {
    await this.refresh()
    const byName = new Map<string, ServedModel>()
    for (const r of this.records.filter((r) => this.routable(r))) {
      for (const [name, metadata] of r.models) {
        const execution: RunnerModelExecution = { runner: r.name, provider: metadata.execution?.provider ?? 'unknown' }
        if (metadata.execution?.adapter) execution.adapter = metadata.execution.adapter
        const entry = byName.get(name)
        if (entry) {
          entry.runners += 1
          entry.servedBy.push(execution)
        } else byName.set(name, { metadata, runners: 1, servedBy: [execution] })
      }
    }
    return [...byName.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
  }

  /** Whether requests may go to this runner now. */
  routable(runner: RunnerState): boolean {
    return runner.ready && runner.announcedReady && !runner.draining && runner.breaker === 'closed'
  }

  /**
   * Counts a failed call. An unreachable runner gets a health check before its next request (one dropped
   * keep-alive connection does not take a runner that is up out of service; one that is down is marked not
   * ready by that check); after `breakerThreshold` failures in a row the breaker opens.
   */
  recordFailure(state: RunnerState, message: string, unreachable: boolean): void {
    const runner = owned(state)
    runner.consecutiveFailures += 1
    runner.lastError = message
    if (unreachable) runner.checkedAt = Number.NEGATIVE_INFINITY
    if (runner.consecutiveFailures >= this.breakerThreshold && runner.breaker === 'closed') {
      runner.breaker = 'open'
      runner.openedAt = this.clock()
    }
  }

  /** Counts a successful call: the failure streak ends. */
  recordSuccess(runner: RunnerState): void {
    owned(runner).consecutiveFailures = 0
  }

  private async refreshOnce(force: boolean): Promise<void> {
    const now = this.clock()
    if (this.options.registry && (force || now - this.registryCheckedAt >= this.registryRefreshMs)) {
      this.registryCheckedAt = now
      await this.syncRegistry(this.options.registry)
    }
    const due = this.records.filter((r) =>
      r.breaker === 'open'
        ? now - r.openedAt >= this.breakerCooldownMs && now - r.checkedAt >= this.breakerCooldownMs
        : force || now - r.checkedAt >= this.refreshMs,
    )
    await Promise.all(due.map((r) => this.check(r)))
  }

  private async syncRegistry(registry: RunnerSource): Promise<void> {
    let found: DiscoveredRunner[]
    try {
      found = await registry.list()
      this.registryError = undefined
    } catch (error) {
      this.registryError = error instanceof Error ? error.message : String(error)
      return
    }
    const byUrl = new Map(found.map((d) => [trimUrl(d.url), d]))
    this.records = this.records.filter((r) => r.origin === 'static' || byUrl.has(r.client.url))
    for (const [url, d] of byUrl) {
      let state = this.records.find((r) => r.client.url === url)
      if (!state) {
        state = this.newState(d.name, url, 'registry')
        this.records.push(state)
      }
      state.draining = d.draining
      state.reportedInflight = d.inflight
      state.announcedReady = d.ready
    }
  }

  private newState(name: string, url: string, origin: RunnerState['origin']): RunnerRecord {
    return {
      name,
      client: new RunnerClient(url, this.options.fetchFn, this.options.timeoutMs),
      origin,
      ready: false,
      draining: false,
      announcedReady: true,
      models: new Map(),
      inflight: 0,
      reportedInflight: 0,
      checkedAt: Number.NEGATIVE_INFINITY,
      consecutiveFailures: 0,
      breaker: 'closed',
      openedAt: 0,
    }
  }

  private defaultModel(): string | undefined {
    const names = new Set(this.records.filter((r) => this.routable(r)).flatMap((r) => [...r.models.keys()]))
    return [...names].sort()[0]
  }

  private async check(runner: RunnerRecord): Promise<void> {
    runner.checkedAt = this.clock()
    const healthy = await this.healthCheck(runner)
    if (!healthy) {
      runner.ready = false
      if (runner.breaker === 'open') runner.openedAt = this.clock()
      return
    }
    runner.ready = true
    runner.lastError = undefined
    if (runner.breaker === 'open') {
      runner.breaker = 'closed'
      runner.consecutiveFailures = this.breakerThreshold - 1
    }
  }

  private async healthCheck(runner: RunnerRecord): Promise<boolean> {
    if (!(await runner.client.ready())) return false
    const index = await runner.client.models()
    if (!index.ok) {
      runner.lastError = index.error.message
      return false
    }
    const models = new Map<string, ModelMetadata>()
    for (const entry of index.data) {
      const known = runner.models.get(entry.name)
      if (known && (!entry.version || known.versions?.includes(entry.version))) {
        models.set(entry.name, known)
        continue
      }
      const metadata = await runner.client.metadata(entry.name)
      if (metadata.ok) models.set(entry.name, metadata.data)
    }
    runner.models = models
    return true
  }
}
