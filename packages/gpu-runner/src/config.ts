import { z } from 'zod'

const RunnerEnv = z.object({
  RUNNER_PORT: z.coerce.number().int().min(0).max(65535).default(8788),
  RUNNER_HOST: z.string().default('127.0.0.1'),
  RUNNER_NAME: z.string().optional(),
  MODEL_DIR: z.string().default('./models'),
  /** Comma-separated execution providers in order of preference. */
  EXECUTION_PROVIDERS: z.string().default('cuda,webgpu,cpu'),
  MAX_IMAGE_PIXELS: z.coerce.number().int().positive().default(40_000_000),
  MAX_BODY_BYTES: z.coerce.number().int().positive().default(64 * 1024 * 1024),
  ORT_INTRA_OP_THREADS: z.coerce.number().int().positive().optional(),
})

export interface RunnerConfig {
  port: number
  host: string
  name: string
  modelDir: string
  providers: string[]
  maxPixels: number
  maxBodyBytes: number
  intraOpThreads?: number
}

/** Reads the runner's configuration from the environment; throws naming the variable that is wrong. */
export function runnerConfigFromEnv(env: Record<string, string | undefined> = process.env): RunnerConfig {
  const parsed = RunnerEnv.safeParse(env)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`invalid runner environment: ${issue?.path.join('.')}: ${issue?.message}`)
  }
  const e = parsed.data
  return {
    port: e.RUNNER_PORT,
    host: e.RUNNER_HOST,
    name: e.RUNNER_NAME ?? `runner-${e.RUNNER_PORT}`,
    modelDir: e.MODEL_DIR,
    providers: e.EXECUTION_PROVIDERS.split(',').map((p) => p.trim()).filter(Boolean),
    maxPixels: e.MAX_IMAGE_PIXELS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    intraOpThreads: e.ORT_INTRA_OP_THREADS,
  }
}
