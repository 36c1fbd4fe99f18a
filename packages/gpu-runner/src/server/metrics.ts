import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/**
 * The runner's metrics, served as Prometheus text at `/metrics` (prom-client, in a registry of their own so
 * that several runners in one process, as in tests, keep separate counts). Metric names stay quoted literals
 * here: `test/infra/manifests.test.ts` reads them from this file to check the autoscaler's queries.
 */
export class RunnerMetrics {
  readonly registry = new Registry()
  readonly requests = new Counter({
    name: 'genimage_runner_requests_total',
    help: 'Inference requests answered, by model and outcome code (ok or an error code).',
    labelNames: ['code', 'model'] as const,
    registers: [this.registry],
  })
  readonly errors = new Counter({
    name: 'genimage_runner_errors_total',
    help: 'Error responses by stable error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  })
  readonly images = new Counter({
    name: 'genimage_runner_images_total',
    help: 'Images (or tensors) scored, by model.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  })
  readonly latency = new Histogram({
    name: 'genimage_runner_request_duration_seconds',
    help: 'Time from request arrival to response for inference requests, by model.',
    labelNames: ['model'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  })
  readonly batchSize = new Histogram({
    name: 'genimage_runner_batch_size',
    help: 'Items per onnxruntime session.run, by model.',
    labelNames: ['model'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  })
  readonly batchSeconds = new Histogram({
    name: 'genimage_runner_batch_duration_seconds',
    help: 'Time spent in one session.run, by model.',
    labelNames: ['model'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  })
  readonly queueDepth = new Gauge({
    name: 'genimage_runner_queue_depth',
    help: 'Images admitted and not yet answered (decoding or waiting for a batch), by model.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  })
  readonly batchQueue = new Gauge({
    name: 'genimage_runner_batch_queue',
    help: 'Decoded images waiting for a batch, by model.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  })
  readonly inflight = new Gauge({ name: 'genimage_runner_inflight_requests', help: 'HTTP requests being handled now.', registers: [this.registry] })
  readonly ready = new Gauge({ name: 'genimage_runner_ready', help: '1 while the runner takes new work, 0 while draining.', registers: [this.registry] })

  /** The content type of {@link render}'s text (Prometheus text format 0.0.4). */
  readonly contentType = this.registry.contentType

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics()
  }
}
