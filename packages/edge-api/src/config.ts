import { z } from 'zod'

export const EdgeConfig = z.object({
  /** Largest multipart request accepted, in bytes (all images together). */
  maxRequestBytes: z
    .number()
    .int()
    .positive()
    .default(20 * 1024 * 1024),
  /** Largest width × height accepted, checked from the image header before it reaches a runner. */
  maxImagePixels: z.number().int().positive().default(40_000_000),
  /**
   * Detect requests this edge instance handles at once; more are answered 429 `queue_full` at once, so overload
   * turns into quick refusals instead of a queue inside the edge.
   */
  maxInflightDetects: z.number().int().positive().default(256),
  /** Most images in one request. */
  maxImagesPerRequest: z.number().int().positive().default(16),
  /**
   * A probability at or above this is verdict `ai` (DETECT_THRESHOLD). Unset: the model card's calibrated threshold
   * when it has a calibration, else 0.5.
   */
  threshold: z.number().min(0).max(1).optional(),
  /**
   * Model used when a request names none. Unset: the one served card with `default: true`, or the only model served;
   * otherwise requests without a model are refused with `default_model_ambiguous` rather than guessed.
   */
  defaultModel: z.string().optional(),
  /**
   * `auto` (default): keys are required as soon as one unrevoked key exists (`npx genimage keys create`), so a
   * fresh local stack works without one; `required`: always; `optional`: never (a presented key is still checked).
   */
  apiKeys: z.enum(['auto', 'required', 'optional']).default('auto'),
  /** Accept a `url` form field that the edge fetches (off by default: it makes the edge an HTTP client). */
  allowUrlInput: z.boolean().default(false),
  /** Deadline for fetching a `url` input, redirects and body included. */
  urlFetchTimeoutMs: z.number().int().positive().default(10_000),
  /** Redirects followed at most for a `url` input. */
  urlMaxRedirects: z.number().int().nonnegative().default(3),
})
export type EdgeConfig = z.infer<typeof EdgeConfig>

const EdgeEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: z.string().default('file:./data/genimage.db'),
  DATABASE_AUTH_TOKEN: z.string().optional(),
  RUNNER_URLS: z.string().default('http://127.0.0.1:8788'),
  MAX_REQUEST_BYTES: z.coerce.number().int().positive().optional(),
  MAX_IMAGE_PIXELS: z.coerce.number().int().positive().optional(),
  MAX_INFLIGHT_DETECTS: z.coerce.number().int().positive().optional(),
  DETECT_THRESHOLD: z.coerce.number().min(0).max(1).optional(),
  DEFAULT_MODEL: z.string().optional(),
  REQUIRE_API_KEY: z.enum(['true', 'false', 'auto']).default('auto'),
  EDGE_ALLOW_URL_INPUT: z.enum(['true', 'false']).default('false'),
  URL_FETCH_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  RUNNER_REGISTRY: z.enum(['true', 'false']).default('true'),
  RUNNER_HEARTBEAT_TTL_MS: z.coerce.number().int().positive().optional(),
  BREAKER_THRESHOLD: z.coerce.number().int().positive().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
})

export interface EdgeEnvironment {
  port: number
  host: string
  databaseUrl: string
  databaseAuthToken?: string
  runnerUrls: string[]
  /** Also route to runners announced in the database's `runners` table (RUNNER_REGISTRY, default true). */
  runnerRegistry: boolean
  runnerHeartbeatTtlMs?: number
  breakerThreshold?: number
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent'
  config: EdgeConfig
}

/** Parses the edge's environment once; throws naming the variable that is wrong. */
export function edgeEnvironment(env: Record<string, string | undefined>): EdgeEnvironment {
  const parsed = EdgeEnv.safeParse(env)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`invalid edge environment: ${issue?.path.join('.')}: ${issue?.message}`)
  }
  const e = parsed.data
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseAuthToken: e.DATABASE_AUTH_TOKEN,
    runnerUrls: e.RUNNER_URLS.split(',')
      .map((u) => u.trim())
      .filter(Boolean),
    runnerRegistry: e.RUNNER_REGISTRY === 'true',
    runnerHeartbeatTtlMs: e.RUNNER_HEARTBEAT_TTL_MS,
    breakerThreshold: e.BREAKER_THRESHOLD,
    logLevel: e.LOG_LEVEL,
    config: EdgeConfig.parse({
      maxRequestBytes: e.MAX_REQUEST_BYTES,
      maxImagePixels: e.MAX_IMAGE_PIXELS,
      maxInflightDetects: e.MAX_INFLIGHT_DETECTS,
      threshold: e.DETECT_THRESHOLD,
      defaultModel: e.DEFAULT_MODEL,
      apiKeys: { true: 'required', false: 'optional', auto: 'auto' }[e.REQUIRE_API_KEY],
      allowUrlInput: e.EDGE_ALLOW_URL_INPUT === 'true',
      urlFetchTimeoutMs: e.URL_FETCH_TIMEOUT_MS,
    }),
  }
}
