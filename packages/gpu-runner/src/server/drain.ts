/** Counts requests in flight so a draining runner can wait until the last one is answered. */
export class InflightTracker {
  private count = 0
  private idleWaiters: (() => void)[] = []

  /** Requests in flight now. */
  get inflight(): number {
    return this.count
  }

  enter(): void {
    this.count += 1
  }

  leave(): void {
    this.count = Math.max(0, this.count - 1)
    if (this.count === 0) {
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const done of waiters) done()
    }
  }

  /** Resolves `true` once nothing is in flight, or `false` if `timeoutMs` passes first. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      this.idleWaiters.push(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }
}

/**
 * Work a runner holds besides HTTP requests (claimed training/evaluation jobs, once the job worker exists).
 * On SIGTERM the runner calls `giveBack` after in-flight requests finish and before it exits, so another
 * runner can claim the jobs at once instead of waiting for their leases to expire.
 */
export interface ClaimedWork {
  giveBack(): Promise<void>
}
