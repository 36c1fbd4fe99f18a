/** Why one backend was not used: it failed to start (remembered), or failed for this one use, or is unknown. */
export interface BackendFailure<Name extends string = string> {
  name: Name
  reason: string
}

/** What became of a backend's start-up; remembered for the life of the registry (normally the process). */
export type BackendOutcome<Started> = { state: 'started'; value: Started } | { state: 'failed'; reason: string }

/** A backend chosen by {@link BackendRegistry.resolve}, with why each one tried before it failed. */
export interface ResolvedBackend<Name extends string, Used> {
  name: Name
  value: Used
  failures: BackendFailure<Name>[]
}

export interface ResolveBackendOptions<Name extends string, Settings, Started, Used> {
  /** Names to try, in this order (an explicit order wins over priorities). Default: every registered one, by priority. */
  order?: readonly string[]
  /** Passed to a backend's `start` the first time it starts; later resolves reuse the remembered outcome. */
  settings: Settings
  /**
   * Per-resolve step after a (remembered) successful start, e.g. make the backend the active one or open a model
   * with it. What it throws is a failure of this resolve only; the next backend is tried.
   */
  use: (name: Name, started: Started) => Promise<Used>
}

export interface BackendRegistry<Name extends string, Settings, Started> {
  /** Adds a backend; higher `priority` is tried first. Throws when the name is already registered. */
  register(name: Name, priority: number, start: (settings: Settings) => Promise<Started>): void
  /** Registered names, highest priority first (ties: in registration order). */
  names(): Name[]
  isRegistered(name: string): name is Name
  /** The remembered outcome of a backend whose start-up has finished; undefined before that. */
  outcome(name: Name): BackendOutcome<Started> | undefined
  /** Starts `name` once; every later call (also one made while it starts) gets the same outcome. */
  start(name: Name, settings: Settings): Promise<BackendOutcome<Started>>
  /**
   * Tries each backend in `order` until one starts and `use` succeeds. A backend that failed to start is not
   * started again; one that started is not re-initialised. Unknown names count as failures.
   * @throws the registry's `unavailable(failures)` error, listing every failure in order, when none works.
   */
  resolve<Used>(options: ResolveBackendOptions<Name, Settings, Started, Used>): Promise<ResolvedBackend<Name, Used>>
}

export interface BackendRegistryOptions {
  /** What one backend is called in reasons, e.g. `provider` → "unknown provider (known: …)". */
  label: string
  /** Builds the error thrown when no backend works; `failures` lists each one tried, in order. */
  unavailable: (failures: BackendFailure[]) => Error
}

/** The first line of an error's message: the reason recorded for a failed backend. */
export function firstLineOfError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0] || (error instanceof Error ? error.name : message)
}

/**
 * A registry of interchangeable backends in the manner of onnxruntime-common's `backend-impl`: each registers with
 * a priority and a start function, resolution tries them in order, and every start-up outcome (started, or failed
 * and why) is remembered, so an unavailable backend is probed once per process. Pure: no runtime APIs.
 *
 * @example
 * const providers = createBackendRegistry<'cuda' | 'cpu', void, void>({ label: 'provider', unavailable: (f) => new Error(…) })
 * providers.register('cuda', 200, probeCuda)
 * providers.register('cpu', 100, async () => {})
 * const { name, value } = await providers.resolve({ settings: undefined, use: (name) => openSession(model, name) })
 */
export function createBackendRegistry<Name extends string, Settings, Started>(options: BackendRegistryOptions): BackendRegistry<Name, Settings, Started> {
  const entries = new Map<Name, { priority: number; start: (settings: Settings) => Promise<Started> }>()
  const starts = new Map<Name, Promise<BackendOutcome<Started>>>()
  const outcomes = new Map<Name, BackendOutcome<Started>>()

  const registry: BackendRegistry<Name, Settings, Started> = {
    register(name, priority, start) {
      if (entries.has(name)) throw new Error(`${options.label} '${name}' is already registered`)
      entries.set(name, { priority, start })
    },
    names() {
      return [...entries].sort(([, a], [, b]) => b.priority - a.priority).map(([name]) => name)
    },
    isRegistered(name: string): name is Name {
      return entries.has(name as Name)
    },
    outcome(name) {
      return outcomes.get(name)
    },
    start(name, settings) {
      const entry = entries.get(name)
      if (entry == null) return Promise.resolve({ state: 'failed', reason: unknownReason() })
      let started = starts.get(name)
      if (started == null) {
        started = (async (): Promise<BackendOutcome<Started>> => {
          try {
            return { state: 'started', value: await entry.start(settings) }
          } catch (error) {
            return { state: 'failed', reason: firstLineOfError(error) }
          }
        })().then((outcome) => {
          outcomes.set(name, outcome)
          return outcome
        })
        starts.set(name, started)
      }
      return started
    },
    async resolve({ order = registry.names(), settings, use }) {
      const failures: BackendFailure<Name>[] = []
      for (const name of order) {
        if (!registry.isRegistered(name)) {
          failures.push({ name: name as Name, reason: unknownReason() })
          continue
        }
        const outcome = await registry.start(name, settings)
        if (outcome.state === 'failed') {
          failures.push({ name, reason: outcome.reason })
          continue
        }
        try {
          return { name, value: await use(name, outcome.value), failures }
        } catch (error) {
          failures.push({ name, reason: firstLineOfError(error) })
        }
      }
      throw options.unavailable(failures)
    },
  }
  return registry

  function unknownReason(): string {
    return `unknown ${options.label} (known: ${registry.names().join(', ')})`
  }
}
