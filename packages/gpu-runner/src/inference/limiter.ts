/**
 * A counting semaphore: at most `limit` tasks run at once, the rest wait in arrival order.
 * The runner uses one for image decodes so sharp's work overlaps inference without flooding the thread pool.
 */
export class Limiter {
  private active = 0
  private readonly waiting: (() => void)[] = []

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer')
  }

  /** Tasks running now. */
  get running(): number {
    return this.active
  }

  /** Tasks waiting for a slot. */
  get pending(): number {
    return this.waiting.length
  }

  /** Runs `task` once a slot is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((go) => this.waiting.push(go))
    else this.active += 1
    try {
      return await task()
    } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.active -= 1
    }
  }
}
