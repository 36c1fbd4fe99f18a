import { availableParallelism } from 'node:os'
import { z } from 'zod'
import type { BatcherOptions } from './inference/batcher.ts'
import { EXECUTION_PROVIDERS, type ExecutionProvider } from './inference/execution-providers.ts'
import type { ServingOptions } from './server/runner-app.ts'
import { MIN_RUNNER_TOKEN_LENGTH } from './server/runner-token.ts'

const cores = availableParallelism()

/**
 * Batching per execution provider when nothing overrides it. A GPU finishes a batch of 32 in about the time it takes
 * for one image (its cores are otherwise idle), so it waits a little longer for company and holds more images in
 * its queue; the CPU provider already uses every core for one image, so larger batches only add waiting.
 */
export const DEFAULT_PROVIDER_BATCHING: Readonly<Record<ExecutionProvider, BatcherOptions>> = {
  cuda: { maxBatchSize: 32, maxQueueDelayMs: 10, maxQueueSize: 128 },
  webgpu: { maxBatchSize: 32, maxQueueDelayMs: 10, maxQueueSize: 128 },
  cpu: { maxBatchSize: 8, maxQueueDelayMs: 5, maxQueueSize: 64 },
}

const batchSize = z.coerce.number().int().positive().optional()
const queueDelayMs = z.coerce.number().min(0).optional()

const RunnerEnv = z.object({
  RUNNER_PORT: z.coerce.number().int().min(0).max(65535).default(8788),
  RUNNER_HOST: z.string().default('127.0.0.1'),
  RUNNER_NAME: z.string().optional(),
  /** URL other processes reach this runner at, when it differs from host:port (a pod IP, a Service). */
  RUNNER_ADVERTISE_URL: z.url({ protocol: /^https?$/ }).optional(),
  RUNNER_CAPABILITIES: z.string().default('detect'),
  MODEL_DIR: z.string().default('./models'),
  /** Comma-separated execution providers in order of preference; unset means `cuda,webgpu,cpu` (see RunnerConfig.forceWebGpu). */
  EXECUTION_PROVIDERS: z.string().optional(),
  MAX_IMAGE_PIXELS: z.coerce.number().int().positive().default(40_000_000),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  ORT_INTRA_OP_THREADS: z.coerce.number().int().positive().optional(),
  ORT_ALLOW_SPINNING: z.enum(['0', '1', 'true', 'false']).optional(),
  /** Batching for every provider, and for one provider (suffix `_CPU`, `_WEBGPU`, `_CUDA`); see RunnerConfig.serving. */
  MAX_BATCH_SIZE: batchSize,
  MAX_BATCH_SIZE_CPU: batchSize,
  MAX_BATCH_SIZE_WEBGPU: batchSize,
  MAX_BATCH_SIZE_CUDA: batchSize,
  MAX_QUEUE_DELAY_MS: queueDelayMs,
  MAX_QUEUE_DELAY_MS_CPU: queueDelayMs,
  MAX_QUEUE_DELAY_MS_WEBGPU: queueDelayMs,
  MAX_QUEUE_DELAY_MS_CUDA: queueDelayMs,
  MAX_QUEUE_IMAGES: batchSize,
  MAX_QUEUE_IMAGES_CPU: batchSize,
  MAX_QUEUE_IMAGES_WEBGPU: batchSize,
  MAX_QUEUE_IMAGES_CUDA: batchSize,
  /** 0 runs onnxruntime on the main thread (blocking it during each batch); 1, the default, on a worker thread. */
  INFERENCE_WORKER: z.enum(['0', '1']).default('1'),
  DECODE_CONCURRENCY: z.coerce
    .number()
    .int()
    .positive()
    .default(Math.max(4, 4 * cores)),
  /** Large-image decodes at once (default 2: half of libuv's threads stay free for small images). */
  HEAVY_DECODE_CONCURRENCY: z.coerce.number().int().positive().optional(),
  /** Pixels from which a decode is large (default 16000000). */
  HEAVY_DECODE_PIXELS: z.coerce.number().int().positive().optional(),
  SHARP_CONCURRENCY: z.coerce.number().int().nonnegative().optional(),
  DRAIN_TIMEOUT_MS: z.coerce.number().int().nonnegative().default(30_000),
  /** libSQL database to announce this runner in; unset means static RUNNER_URLS on the edge only. */
  DATABASE_URL: z.string().optional(),
  DATABASE_AUTH_TOKEN: z.string().optional(),
  HEARTBEAT_MS: z.coerce.number().int().positive().default(5_000),
  /** PEM file of the certificates whose chains make a C2PA signer trusted; unset: every signer is `untrusted`. */
  C2PA_TRUST_ANCHORS: z.string().min(1).optional(),
  C2PA_READ_TIMEOUT_MS: z.coerce.number().int().positive().default(2_000),
  /** When set, every route but liveness and readiness requires `Authorization: Bearer <RUNNER_TOKEN>`. */
  RUNNER_TOKEN: z.string().min(MIN_RUNNER_TOKEN_LENGTH, `at least ${MIN_RUNNER_TOKEN_LENGTH} characters`).optional(),
  /** `true`: with RUNNER_TOKEN set, `GET /metrics` still answers without it (a Prometheus scraping pods without credentials). */
  RUNNER_METRICS_WITHOUT_TOKEN: z.enum(['true', 'false']).default('false'),
})

export interface RunnerConfig {
  port: number
  host: string
  name: string
  advertiseUrl?: string
  capabilities: ('detect' | 'train')[]
  modelDir: string
  providers: string[]
  /**
   * EXECUTION_PROVIDERS was set and names `webgpu`: a software WebGPU adapter (lavapipe) is used too. The built-in
   * default list (`cuda,webgpu,cpu`) skips a software adapter, which is slower than the `cpu` provider, and logs why.
   */
  forceWebGpu: boolean
  maxPixels: number
  maxBodyBytes: number
  intraOpThreads?: number
  /**
   * onnxruntime pool threads spin while idle (ORT_ALLOW_SPINNING=1). Off by default: spinning threads compete
   * with image decoding and HTTP for the same cores. bench/detect-e2e.ts (ResNet-50, batch 8, 2 cores) measured
   * off at or above on: 0.71× vs 0.67× of bare session.run before the 2026-11 serving fixes, 0.76–0.78× vs
   * 0.74–0.77× after them, 0.845× vs 0.827× once decoding and the edge got cheaper (2026-11-26). Leave
   * ORT_INTRA_OP_THREADS unset: onnxruntime then uses one thread per core.
   */
  allowSpinning?: boolean
  /**
   * Batching per provider, each model using its own provider's: DEFAULT_PROVIDER_BATCHING, overridden for every
   * provider by MAX_BATCH_SIZE, MAX_QUEUE_DELAY_MS and MAX_QUEUE_IMAGES, and for one by the same names with its suffix
   * (MAX_BATCH_SIZE_WEBGPU, MAX_QUEUE_DELAY_MS_CUDA, MAX_QUEUE_IMAGES_CPU…), which win. A queue whose size is not
   * set holds at least two batches. `serving.batch` is the `cpu` provider's.
   */
  serving: ServingOptions & { batchByProvider: Record<ExecutionProvider, BatcherOptions> }
  /** libvips threads per image operation; unset keeps sharp's default. */
  sharpConcurrency?: number
  /** Longest a SIGTERM waits for in-flight requests before closing anyway. */
  drainTimeoutMs: number
  registry?: { databaseUrl: string; authToken?: string; heartbeatMs: number }
  /** C2PA content credentials: the trust anchors' PEM file (C2PA_TRUST_ANCHORS) and the time box of one image's read. */
  contentCredentials?: { trustAnchorsPath?: string; readTimeoutMs: number }
  /** Bearer token every route but liveness and readiness requires (RUNNER_TOKEN); unset: no authentication (a trusted network). */
  token?: string
  /** With `token`: `GET /metrics` answers without it too (RUNNER_METRICS_WITHOUT_TOKEN=true). */
  metricsWithoutToken?: boolean
}

/** Reads the runner's configuration from the environment; throws naming the variable that is wrong. */
export function runnerConfigFromEnv(env: Record<string, string | undefined> = process.env): RunnerConfig {
  const parsed = RunnerEnv.safeParse(env)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`invalid runner environment: ${issue?.path.join('.')}: ${issue?.message}`)
  }
  const e = parsed.data
  const capabilities = e.RUNNER_CAPABILITIES.split(',')
    .map((c) => c.trim())
    .filter(Boolean)
  const unknown = capabilities.filter((c) => c !== 'detect' && c !== 'train')
  if (unknown.length > 0 || capabilities.length === 0) {
    throw new Error(`invalid runner environment: RUNNER_CAPABILITIES: use detect and/or train (got ${e.RUNNER_CAPABILITIES})`)
  }
  const providers = (e.EXECUTION_PROVIDERS ?? EXECUTION_PROVIDERS.join(','))
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
  const batchByProvider = Object.fromEntries(EXECUTION_PROVIDERS.map((provider) => [provider, providerBatching(e, provider)])) as Record<
    ExecutionProvider,
    BatcherOptions
  >
  return {
    port: e.RUNNER_PORT,
    host: e.RUNNER_HOST,
    name: e.RUNNER_NAME ?? `runner-${e.RUNNER_PORT}`,
    advertiseUrl: e.RUNNER_ADVERTISE_URL,
    capabilities: capabilities as ('detect' | 'train')[],
    modelDir: e.MODEL_DIR,
    providers,
    forceWebGpu: e.EXECUTION_PROVIDERS !== undefined && providers.includes('webgpu'),
    maxPixels: e.MAX_IMAGE_PIXELS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    intraOpThreads: e.ORT_INTRA_OP_THREADS,
    allowSpinning: e.ORT_ALLOW_SPINNING === '1' || e.ORT_ALLOW_SPINNING === 'true',
    serving: {
      batch: batchByProvider.cpu,
      batchByProvider,
      decodeConcurrency: e.DECODE_CONCURRENCY,
      ...(e.HEAVY_DECODE_CONCURRENCY === undefined ? {} : { heavyDecodeConcurrency: e.HEAVY_DECODE_CONCURRENCY }),
      ...(e.HEAVY_DECODE_PIXELS === undefined ? {} : { heavyDecodePixels: e.HEAVY_DECODE_PIXELS }),
      inferenceWorker: e.INFERENCE_WORKER === '1',
    },
    sharpConcurrency: e.SHARP_CONCURRENCY,
    drainTimeoutMs: e.DRAIN_TIMEOUT_MS,
    contentCredentials: { trustAnchorsPath: e.C2PA_TRUST_ANCHORS, readTimeoutMs: e.C2PA_READ_TIMEOUT_MS },
    ...(e.RUNNER_TOKEN ? { token: e.RUNNER_TOKEN, metricsWithoutToken: e.RUNNER_METRICS_WITHOUT_TOKEN === 'true' } : {}),
    ...(e.DATABASE_URL ? { registry: { databaseUrl: e.DATABASE_URL, authToken: e.DATABASE_AUTH_TOKEN, heartbeatMs: e.HEARTBEAT_MS } } : {}),
  }
}

function providerBatching(e: z.infer<typeof RunnerEnv>, provider: ExecutionProvider): BatcherOptions {
  const suffix = `_${provider.toUpperCase()}` as '_CPU' | '_WEBGPU' | '_CUDA'
  const defaults = DEFAULT_PROVIDER_BATCHING[provider]
  const maxBatchSize = e[`MAX_BATCH_SIZE${suffix}`] ?? e.MAX_BATCH_SIZE ?? defaults.maxBatchSize
  return {
    maxBatchSize,
    maxQueueDelayMs: e[`MAX_QUEUE_DELAY_MS${suffix}`] ?? e.MAX_QUEUE_DELAY_MS ?? defaults.maxQueueDelayMs,
    maxQueueSize: e[`MAX_QUEUE_IMAGES${suffix}`] ?? e.MAX_QUEUE_IMAGES ?? Math.max(defaults.maxQueueSize, 2 * maxBatchSize),
  }
}
