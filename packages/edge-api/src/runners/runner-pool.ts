import type { ModelMetadata } from '@genimage/shared'
import { RunnerClient } from './runner-client.ts'

/** What the edge knows about one runner. */
export interface RunnerState {
  client: RunnerClient
  ready: boolean
  models: Map<string, ModelMetadata>
  inflight: number
  checkedAt: number
  lastError?: string
}

export type Pick =
  | { ok: true; runner: RunnerState; model: ModelMetadata }
  | { ok: false; reason: 'no_runner_available' | 'model_not_found'; message: string }

export interface RunnerPoolOptions {
  /** How long a runner's readiness and model list are trusted before they are asked again. */
  refreshMs?: number
  fetchFn?: typeof fetch
}

/**
 * Runners at fixed URLs. State is refreshed on demand (no background timers, so it runs on any edge runtime):
 * requests pick a ready runner that serves the model, fewest in-flight first.
 */
export class RunnerPool {
  readonly runners: RunnerState[]
  private readonly refreshMs: number
  private refreshing: Promise<void> | undefined

  constructor(urls: readonly string[], options: RunnerPoolOptions = {}) {
    this.refreshMs = options.refreshMs ?? 2_000
    this.runners = urls.map((url) => ({
      client: new RunnerClient(url.replace(/\/+$/, ''), options.fetchFn),
      ready: false,
      models: new Map(),
      inflight: 0,
      checkedAt: 0,
    }))
  }

  /** Asks every runner whose state is stale for readiness and models; concurrent callers share one refresh. */
  async refresh(force = false): Promise<void> {
    const now = Date.now()
    const stale = this.runners.filter((r) => force || now - r.checkedAt >= this.refreshMs)
    if (stale.length === 0) return
    this.refreshing ??= Promise.all(stale.map((r) => this.check(r))).then(
      () => {
        this.refreshing = undefined
      },
    )
    await this.refreshing
  }

  /** Chooses the ready runner serving `model` with the fewest requests in flight. */
  async pick(model: string | undefined): Promise<Pick> {
    await this.refresh()
    const ready = this.runners.filter((r) => r.ready)
    if (ready.length === 0) {
      return { ok: false, reason: 'no_runner_available', message: this.runners.length === 0 ? 'no runner is configured' : 'no runner is ready' }
    }
    const name = model ?? this.defaultModel()
    if (!name) return { ok: false, reason: 'model_not_found', message: 'no runner serves any model' }
    const serving = ready.filter((r) => r.models.has(name)).sort((a, b) => a.inflight - b.inflight)
    const chosen = serving[0]
    if (!chosen) return { ok: false, reason: 'model_not_found', message: `no runner serves model ${name}` }
    return { ok: true, runner: chosen, model: chosen.models.get(name) as ModelMetadata }
  }

  /** Every model served by a ready runner, with how many runners serve it. */
  async models(): Promise<{ metadata: ModelMetadata; runners: number }[]> {
    await this.refresh()
    const byName = new Map<string, { metadata: ModelMetadata; runners: number }>()
    for (const r of this.runners.filter((r) => r.ready)) {
      for (const [name, metadata] of r.models) {
        const entry = byName.get(name)
        if (entry) entry.runners += 1
        else byName.set(name, { metadata, runners: 1 })
      }
    }
    return [...byName.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
  }

  /** Marks a runner not ready after a connection failure so the next request avoids it until it answers again. */
  markFailed(runner: RunnerState, message: string): void {
    runner.ready = false
    runner.lastError = message
  }

  private defaultModel(): string | undefined {
    const names = new Set(this.runners.filter((r) => r.ready).flatMap((r) => [...r.models.keys()]))
    return [...names].sort()[0]
  }

  private async check(runner: RunnerState): Promise<void> {
    runner.checkedAt = Date.now()
    const ready = await runner.client.ready()
    if (!ready) {
      runner.ready = false
      return
    }
    const index = await runner.client.models()
    if (!index.ok) {
      runner.ready = false
      runner.lastError = index.error.message
      return
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
    runner.ready = true
    runner.lastError = undefined
  }
}
