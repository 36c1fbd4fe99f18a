type Labels = Record<string, string>

const key = (labels: Labels): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k] as string)}"`)
    .join(',')

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

interface Metric {
  render(): string[]
}

/** A monotonically increasing count per label set. */
export class Counter implements Metric {
  private readonly values = new Map<string, number>()
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels)
    this.values.set(k, (this.values.get(k) ?? 0) + by)
  }
  get(labels: Labels = {}): number {
    return this.values.get(key(labels)) ?? 0
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`]
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ''} ${v}`)
    return lines
  }
}

/** A value that goes up and down per label set. */
export class Gauge implements Metric {
  private readonly values = new Map<string, number>()
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  set(labels: Labels, value: number): void {
    this.values.set(key(labels), value)
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`]
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ''} ${v}`)
    return lines
  }
}

/** Cumulative-bucket histogram per label set, as Prometheus expects. */
export class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>()
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}
  observe(labels: Labels, value: number): void {
    const k = key(labels)
    let s = this.series.get(k)
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }
      this.series.set(k, s)
    }
    this.buckets.forEach((bound, i) => {
      if (value <= bound) s.counts[i] = (s.counts[i] as number) + 1
    })
    s.sum += value
    s.count += 1
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`]
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : ''
      this.buckets.forEach((bound, i) => lines.push(`${this.name}_bucket{${sep}le="${bound}"} ${s.counts[i]}`))
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`)
      lines.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`)
      lines.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`)
    }
    return lines
  }
}

/** The runner's metrics, served as Prometheus text at `/metrics`. */
export class RunnerMetrics {
  readonly requests = new Counter('genimage_runner_requests_total', 'Inference requests answered, by model and outcome code (ok or an error code).')
  readonly errors = new Counter('genimage_runner_errors_total', 'Error responses by stable error code.')
  readonly images = new Counter('genimage_runner_images_total', 'Images (or tensors) scored, by model.')
  readonly latency = new Histogram(
    'genimage_runner_request_duration_seconds',
    'Time from request arrival to response for inference requests, by model.',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  )
  readonly batchSize = new Histogram('genimage_runner_batch_size', 'Items per onnxruntime session.run, by model.', [1, 2, 4, 8, 16, 32, 64])
  readonly batchSeconds = new Histogram(
    'genimage_runner_batch_duration_seconds',
    'Time spent in one session.run, by model.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  )
  readonly queueDepth = new Gauge('genimage_runner_queue_depth', 'Images admitted and not yet answered (decoding or waiting for a batch), by model.')
  readonly batchQueue = new Gauge('genimage_runner_batch_queue', 'Decoded images waiting for a batch, by model.')
  readonly inflight = new Gauge('genimage_runner_inflight_requests', 'HTTP requests being handled now.')
  readonly ready = new Gauge('genimage_runner_ready', '1 while the runner takes new work, 0 while draining.')

  /** The Prometheus text exposition of every metric. */
  render(): string {
    const all: Metric[] = [
      this.requests,
      this.errors,
      this.images,
      this.latency,
      this.batchSize,
      this.batchSeconds,
      this.queueDepth,
      this.batchQueue,
      this.inflight,
      this.ready,
    ]
    return `${all.flatMap((m) => m.render()).join('\n')}\n`
  }
}
