import type { ResolvedDeps } from '../app.ts'
import { ApiError } from '../errors.ts'

/** The edge's detect admission: each model call of an admitted request holds one of `max` slots. */
export class AdmissionSlots {
  private inflight = 0
  constructor(private readonly max: number) {}

  /** Takes `count` slots at once, or none: 429 `queue_full` when fewer are free. `models`: how many the request names. */
  take(count: number, models = 1): void {
    if (this.inflight + count > this.max) {
      const what = models > 1 ? `; this request names ${models} models and needs a slot for each, one per named model` : ''
      const message = `this edge is already handling ${this.inflight} detect model calls (of ${this.max})${what}; retry later`
      throw new ApiError('queue_full', message, { retryAfterSeconds: 1 })
    }
    this.inflight += count
  }

  release(count: number): void {
    this.inflight -= count
  }
}

/** 404 `model_not_found` (with `details.model`) for the first named model no ready runner serves, before any is scored. */
export async function requireServed(deps: Pick<ResolvedDeps, 'runners'>, models: string[]): Promise<void> {
  for (const name of models) {
    const choice = await deps.runners.pick(name)
    if (!choice.ok && choice.reason === 'model_not_found') throw new ApiError('model_not_found', choice.message, { details: { model: name } })
  }
}
