/** How a model's requests are grouped into batches. */
export interface BatcherOptions {
  /** Most items (images) run in one `session.run`. */
  maxBatchSize: number
  /** Longest an item waits for company before a partial batch runs, in milliseconds. */
  maxQueueDelayMs: number
  /** Most items admitted and not yet finished (waiting, preprocessing or queued); more are refused. */
  maxQueueSize: number
}

/** Observers for metrics; all optional. */
export interface BatcherHooks {
  onBatch?: (size: number, seconds: number) => void
  onDepth?: (admitted: number, queued: number) => void
}

/** Thrown by `admit` when the queue cannot take `count` more items; `retryAfterSeconds` is an honest estimate. */
export class QueueFullError extends Error {
  override name = 'QueueFullError'
  constructor(
    readonly admitted: number,
    readonly capacity: number,
    readonly retryAfterSeconds: number,
  ) {
    super(`queue is full (${admitted} of ${capacity} images waiting); retry in ${retryAfterSeconds} s`)
  }
}

interface Pending<I, O> {
  item: I
  enqueuedAt: number
  resolve: (value: O) => void
  reject: (error: unknown) => void
}

/** A reservation of queue room for one request's items; release it if the request fails before `run`. */
export interface Admission {
  readonly count: number
  release(): void
}

/**
 * Groups items from concurrent requests into batches of at most `maxBatchSize`, waiting at most
 * `maxQueueDelayMs` for a batch to fill, and runs one batch at a time (a session already uses every core).
 * Admission is bounded: `admit` throws `QueueFullError` instead of letting the queue grow.
 *
 * @example
 * const batcher = new DynamicBatcher((xs: Float32Array[]) => runModel(model, xs), { maxBatchSize: 8, maxQueueDelayMs: 5, maxQueueSize: 64 })
 * const ticket = batcher.admit(2)
 * const outputs = await batcher.run(ticket, [a, b])
 */
export class DynamicBatcher<I, O> {
  private readonly queue: Pending<I, O>[] = []
  private admittedItems = 0
  private running = false
  private timer: ReturnType<typeof setTimeout> | undefined
  private secondsPerItem = 0.01

  constructor(
    private readonly runBatch: (items: I[]) => Promise<O[]>,
    readonly options: BatcherOptions,
    private readonly hooks: BatcherHooks = {},
  ) {
    for (const key of ['maxBatchSize', 'maxQueueSize'] as const) {
      if (!Number.isInteger(options[key]) || options[key] < 1) throw new RangeError(`${key} must be a positive integer`)
    }
    if (!(options.maxQueueDelayMs >= 0)) throw new RangeError('maxQueueDelayMs must be ≥ 0')
  }

  /** Items admitted and not yet answered. */
  get admitted(): number {
    return this.admittedItems
  }

  /** Items waiting for a batch (already preprocessed). */
  get queued(): number {
    return this.queue.length
  }

  /** Reserves room for `count` items or throws `QueueFullError`. A request larger than the whole queue is refused the same way. */
  admit(count: number): Admission {
    const { maxQueueSize } = this.options
    if (this.admittedItems + count > maxQueueSize) {
      const backlog = this.admittedItems + count
      const retryAfter = Math.max(1, Math.ceil(backlog * this.secondsPerItem))
      throw new QueueFullError(this.admittedItems, maxQueueSize, retryAfter)
    }
    this.admittedItems += count
    this.report()
    let released = false
    return {
      count,
      release: () => {
        if (released) return
        released = true
        this.admittedItems -= count
        this.report()
      },
    }
  }

  /** Queues the admitted items and resolves with their outputs in order; releases the admission when done. */
  async run(admission: Admission, items: readonly I[]): Promise<O[]> {
    if (items.length !== admission.count) throw new RangeError(`admitted ${admission.count} items, got ${items.length}`)
    try {
      return await Promise.all(items.map((item) => this.enqueue(item)))
    } finally {
      admission.release()
    }
  }

  private enqueue(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, enqueuedAt: performance.now(), resolve, reject })
      this.report()
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return
    const { maxBatchSize, maxQueueDelayMs } = this.options
    const oldest = this.queue[0] as Pending<I, O>
    const waited = performance.now() - oldest.enqueuedAt
    if (this.queue.length >= maxBatchSize || waited >= maxQueueDelayMs) {
      this.clearTimer()
      void this.dispatch()
      return
    }
    this.timer ??= setTimeout(
      () => {
        this.timer = undefined
        this.schedule()
      },
      Math.max(0, maxQueueDelayMs - waited),
    )
  }

  private async dispatch(): Promise<void> {
    this.running = true
    const batch = this.queue.splice(0, this.options.maxBatchSize)
    this.report()
    const started = performance.now()
    try {
      const outputs = await this.runBatch(batch.map((p) => p.item))
      if (outputs.length !== batch.length) throw new Error(`batch of ${batch.length} produced ${outputs.length} outputs`)
      for (const [i, p] of batch.entries()) p.resolve(outputs[i] as O)
    } catch (error) {
      for (const p of batch) p.reject(error)
    } finally {
      const seconds = (performance.now() - started) / 1000
      this.secondsPerItem = 0.8 * this.secondsPerItem + (0.2 * seconds) / batch.length
      this.hooks.onBatch?.(batch.length, seconds)
      this.running = false
      this.schedule()
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  private report(): void {
    this.hooks.onDepth?.(this.admittedItems, this.queue.length)
  }
}
