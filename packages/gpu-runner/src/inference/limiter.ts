/** How one task waits for a slot: whose it is, whether it is heavy, and what cancels it. */
export interface LimiterTask {
  /**
   * The request the task belongs to. A free slot goes to the waiting owner with the fewest tasks running (ties
   * round-robin), so one request's many decodes cannot hold back another request's one. Default: the task is its
   * own owner (plain arrival order).
   */
  owner?: unknown
  /** Heavy tasks (large decodes) run at most `heavyLimit` at once, so light ones always find a slot. */
  heavy?: boolean
  /** Aborting it takes a waiting task out of the queue (rejecting with the signal's reason); a running task finishes. */
  signal?: AbortSignal
}

interface Waiter {
  heavy: boolean
  start: () => void
}

/**
 * A counting semaphore, fair between requests: at most `limit` tasks run at once and at most `heavyLimit` of them
 * heavy; a free slot goes to the owner with the fewest tasks running (ties round-robin), in arrival order within
 * one owner.
 * The runner uses one for image decodes so sharp's work overlaps inference without flooding the thread pool.
 * @example const decodes = new Limiter(8, 2); await decodes.run(() => transform(image), { owner: request, heavy: true, signal })
 */
export class Limiter {
  private active = 0
  private activeHeavy = 0
  /** Waiting tasks by owner. */
  private readonly queues = new Map<unknown, Waiter[]>()
  private waitingCount = 0
  private readonly runningByOwner = new Map<unknown, number>()
  /** When each owner with tasks running or waiting last started one (a tick count): ties go to the longest unserved. */
  private readonly lastStarted = new Map<unknown, number>()
  private ticks = 0

  constructor(
    readonly limit: number,
    readonly heavyLimit: number = limit,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer')
    if (!Number.isInteger(heavyLimit) || heavyLimit < 1) throw new RangeError('heavyLimit must be a positive integer')
  }

  /** Tasks running now. */
  get running(): number {
    return this.active
  }

  /** Tasks waiting for a slot. */
  get pending(): number {
    return this.waitingCount
  }

  /** Runs `task` once a slot is free; rejects without running it if `signal` aborts first. */
  async run<T>(task: () => Promise<T>, options: LimiterTask = {}): Promise<T> {
    const heavy = options.heavy === true
    const owner = options.owner ?? Symbol('task')
    options.signal?.throwIfAborted()
    if (this.queues.size === 0 && this.fits(heavy)) this.take(owner, heavy)
    else await this.wait(owner, heavy, options.signal)
    try {
      return await task()
    } finally {
      this.active -= 1
      if (heavy) this.activeHeavy -= 1
      const left = (this.runningByOwner.get(owner) ?? 1) - 1
      if (left > 0) this.runningByOwner.set(owner, left)
      else {
        this.runningByOwner.delete(owner)
        if (!this.queues.has(owner)) this.lastStarted.delete(owner)
      }
      this.dispatch()
    }
  }

  private fits(heavy: boolean): boolean {
    return this.active < this.limit && (!heavy || this.activeHeavy < this.heavyLimit)
  }

  private take(owner: unknown, heavy: boolean): void {
    this.active += 1
    if (heavy) this.activeHeavy += 1
    this.runningByOwner.set(owner, (this.runningByOwner.get(owner) ?? 0) + 1)
    this.lastStarted.set(owner, ++this.ticks)
  }

  private wait(owner: unknown, heavy: boolean, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const queue = this.queues.get(owner)
        const at = queue?.indexOf(waiter) ?? -1
        if (queue && at >= 0) {
          queue.splice(at, 1)
          this.waitingCount -= 1
          if (queue.length === 0) {
            this.queues.delete(owner)
            if (!this.runningByOwner.has(owner)) this.lastStarted.delete(owner)
          }
        }
        reject(signal?.reason)
      }
      const waiter: Waiter = {
        heavy,
        start: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
      }
      const queue = this.queues.get(owner)
      if (queue) queue.push(waiter)
      else this.queues.set(owner, [waiter])
      this.waitingCount += 1
      signal?.addEventListener('abort', onAbort, { once: true })
      this.dispatch()
    })
  }

  /** Starts waiting tasks while slots are free: each time, of the owners whose next task fits, the one running fewest. */
  private dispatch(): void {
    while (this.active < this.limit && this.waitingCount > 0) {
      let chosen: { owner: unknown; queue: Waiter[]; running: number; last: number } | undefined
      for (const [owner, queue] of this.queues) {
        if (!this.fits((queue[0] as Waiter).heavy)) continue
        const running = this.runningByOwner.get(owner) ?? 0
        const last = this.lastStarted.get(owner) ?? 0
        if (!chosen || running < chosen.running || (running === chosen.running && last < chosen.last)) chosen = { owner, queue, running, last }
      }
      if (!chosen) return
      const { owner, queue } = chosen
      const next = queue.shift() as Waiter
      this.waitingCount -= 1
      if (queue.length === 0) this.queues.delete(owner)
      this.take(owner, next.heavy)
      next.start()
    }
  }
}
