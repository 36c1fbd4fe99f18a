import { availableParallelism } from 'node:os'
import { z } from 'zod'
import type { ServingOptions } from './server/runner-app.ts'

const cores = availableParallelism()

const RunnerEnv = z.object({
  RUNNER_PORT: z.coerce.number().int().min(0).max(65535).default(8788),
  RUNNER_HOST: z.string().default('127.0.0.1'),
  RUNNER_NAME: z.string().optional(),
  /** URL other processes reach this runner at, when it differs from host:port (a pod IP, a Service). */
  RUNNER_ADVERTISE_URL: z.url({ protocol: /^https?$/ }).optional(),
  RUNNER_CAPABILITIES: z.string().default('detect'),
  MODEL_DIR: z.string().default('./models'),
  /** Comma-separated execution providers in order of preference. */
  EXECUTION_PROVIDERS: z.string().default('cuda,webgpu,cpu'),
  MAX_IMAGE_PIXELS: z.coerce.number().int().positive().default(40_000_000),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  ORT_INTRA_OP_THREADS: z.coerce.number().int().positive().optional(),
  ORT_ALLOW_SPINNING: z.enum(['0', '1', 'true', 'false']).optional(),
  MAX_BATCH_SIZE: z.coerce.number().int().positive().default(8),
  MAX_QUEUE_DELAY_MS: z.coerce.number().min(0).default(5),
  MAX_QUEUE_IMAGES: z.coerce.number().int().positive().default(64),
  /** 0 runs onnxruntime on the main thread (blocking it during each batch); 1, the default, on a worker thread. */
  INFERENCE_WORKER: z.enum(['0', '1']).default('1'),
  DECODE_CONCURRENCY: z.coerce
    .number()
    .int()
    .positive()
    .default(Math.max(4, 4 * cores)),
  SHARP_CONCURRENCY: z.coerce.number().int().nonnegative().optional(),
  DRAIN_TIMEOUT_MS: z.coerce.number().int().nonnegative().default(30_000),
  /** libSQL database to announce this runner in; unset means static RUNNER_URLS on the edge only. */
  DATABASE_URL: z.string().optional(),
  DATABASE_AUTH_TOKEN: z.string().optional(),
  HEARTBEAT_MS: z.coerce.number().int().positive().default(5_000),
})

export interface RunnerConfig {
  port: number
  host: string
  name: string
  advertiseUrl?: string
  capabilities: ('detect' | 'train')[]
  modelDir: string
  providers: string[]
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
  serving: ServingOptions
  /** libvips threads per image operation; unset keeps sharp's default. */
  sharpConcurrency?: number
  /** Longest a SIGTERM waits for in-flight requests before closing anyway. */
  drainTimeoutMs: number
  registry?: { databaseUrl: string; authToken?: string; heartbeatMs: number }
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
  return {
    port: e.RUNNER_PORT,
    host: e.RUNNER_HOST,
    name: e.RUNNER_NAME ?? `runner-${e.RUNNER_PORT}`,
    advertiseUrl: e.RUNNER_ADVERTISE_URL,
    capabilities: capabilities as ('detect' | 'train')[],
    modelDir: e.MODEL_DIR,
    providers: e.EXECUTION_PROVIDERS.split(',')
      .map((p) => p.trim())
      .filter(Boolean),
    maxPixels: e.MAX_IMAGE_PIXELS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    intraOpThreads: e.ORT_INTRA_OP_THREADS,
    allowSpinning: e.ORT_ALLOW_SPINNING === '1' || e.ORT_ALLOW_SPINNING === 'true',
    serving: {
      batch: { maxBatchSize: e.MAX_BATCH_SIZE, maxQueueDelayMs: e.MAX_QUEUE_DELAY_MS, maxQueueSize: e.MAX_QUEUE_IMAGES },
      decodeConcurrency: e.DECODE_CONCURRENCY,
      inferenceWorker: e.INFERENCE_WORKER === '1',
    },
    sharpConcurrency: e.SHARP_CONCURRENCY,
    drainTimeoutMs: e.DRAIN_TIMEOUT_MS,
    ...(e.DATABASE_URL ? { registry: { databaseUrl: e.DATABASE_URL, authToken: e.DATABASE_AUTH_TOKEN, heartbeatMs: e.HEARTBEAT_MS } } : {}),
  }
}
