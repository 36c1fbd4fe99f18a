import { DataRootPath } from '@genimage/shared'
import { z } from 'zod'
import { MIN_RUNNER_TOKEN_LENGTH, parseRunnerUrls, type RunnerTokens } from './runners/runner-tokens.ts'

/** Resident memory of an idle edge process with its caches warm (184 MB measured, rounded up). */
export const EDGE_BASELINE_BYTES = 256 * 1024 * 1024
/**
 * Peak resident bytes the edge holds per request body byte: the arrived chunks, their joined copy, the BYTES tensor
 * sent to the runner, and garbage not yet collected. Measured (test/load/hostile-clients.test.ts): with 85 MiB of
 * bodies in flight, RSS rose up to 300 MiB over idle, about 3.5 per byte.
 */
export const BYTES_HELD_PER_BODY_BYTE = 4

/**
 * Request body bytes the edge may hold at once within `memoryBudgetBytes` of resident memory: what is left after
 * the idle baseline, divided by the copies each body byte costs.
 * @example inflightByteBudget(768 * 2 ** 20) // 134217728 bytes (128 MiB): 6 requests of 20 MiB at once
 */
export function inflightByteBudget(memoryBudgetBytes: number): number {
  return Math.max(0, Math.floor((memoryBudgetBytes - EDGE_BASELINE_BYTES) / BYTES_HELD_PER_BODY_BYTE))
}

/** `host:port`, or `[v6]:port`: one CALLBACK_ALLOWED_HOSTS entry. */
const HOST_PORT = /^[^\s:[\]]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/

export const EdgeConfig = z
  .object({
    /** Largest multipart request accepted, in bytes (all images together). */
    maxRequestBytes: z
      .number()
      .int()
      .positive()
      .default(20 * 1024 * 1024),
    /** Largest width × height accepted, checked from the image header before it reaches a runner. */
    maxImagePixels: z.number().int().positive().default(40_000_000),
    /**
     * Largest width × height summed over a request's images (MAX_REQUEST_PIXELS): decoding costs the runner about 1 s
     * of CPU per 20 megapixels, so this bounds what one request can ask of a runner (default: 4 images at the limit).
     */
    maxRequestPixels: z.number().int().positive().default(160_000_000),
    /**
     * Deadline for receiving a detect request's whole body (BODY_TIMEOUT_MS); later, 408 `request_timeout`. Bodies are
     * read before an admission slot is taken, so slow uploads never hold a slot; this bounds how long they hold a socket.
     */
    bodyTimeoutMs: z.number().int().positive().default(30_000),
    /**
     * Resident memory this edge may use (EDGE_MEMORY_BUDGET_BYTES; keep it at most 80% of the container's limit). The
     * request bytes held at once are capped at `inflightByteBudget(memoryBudgetBytes)`; beyond, 503 `server_busy`.
     */
    memoryBudgetBytes: z
      .number()
      .int()
      .positive()
      .default(768 * 1024 * 1024),
    /**
     * Detect requests this edge instance handles at once; more are answered 429 `queue_full` at once, so overload
     * turns into quick refusals instead of a queue inside the edge.
     */
    maxInflightDetects: z.number().int().positive().default(256),
    /** Most images in one request. */
    maxImagesPerRequest: z.number().int().positive().default(16),
    // Async detect jobs (issue 17 items 3-4).
    /**
     * Largest async detect body (BATCH_MAX_REQUEST_BYTES; up to 1,000 images go to the spool), read under the same
     * in-flight byte budget as every body, so the budget also caps it.
     */
    maxBatchRequestBytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024),
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
    // Experiments, keys and browsers (issue 14 items 4–9, 13; issue 15 item 3).
    /** Largest `POST /v1/experiments` body (MAX_EXPERIMENT_SPEC_BYTES); a spec is a few KB, so 64 KiB is generous. */
    maxExperimentSpecBytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024),
    /** Most runs one experiment may expand into (MAX_EXPERIMENT_RUNS); more is refused with 400 before anything is written. */
    maxExperimentRuns: z.number().int().positive().default(1000),
    /** Progress streams (`/v1/experiments/{id}/events`) one key (or all anonymous callers together) may hold open (MAX_EVENT_STREAMS_PER_KEY). */
    maxEventStreamsPerKey: z.number().int().positive().default(16),
    /**
     * Folders an experiment's `dataRoot` must lie in, as the runners see them (DATA_ROOTS, comma-separated absolute
     * paths). Unset: any absolute path, which suits a one-user local stack only.
     */
    dataRoots: z.array(DataRootPath).min(1).optional(),
    /**
     * Folders whose GenImage-layout datasets `GET /v1/datasets` lists, each itself or its direct subfolders (DATASET_DIRS,
     * comma-separated absolute paths; default DATA_ROOTS). `genimage start` sets it to its `data` folder.
     */
    datasetDirs: z.array(DataRootPath).min(1).optional(),
    /**
     * Browser origins allowed to call state-changing routes (ALLOWED_ORIGINS, comma-separated, e.g.
     * `https://console.example.com`). Requests without `Origin` (CLI, servers) and same-origin requests always pass.
     */
    allowedOrigins: z.array(z.string().min(1)).default([]),
    /** A fixed bearer token that may read `/metrics` besides keys with the `metrics` scope (METRICS_TOKEN). */
    metricsToken: z.string().min(16).optional(),
    // Async detect callbacks (issue 17 item 3).
    /**
     * `host:port` pairs a `callback_url` may name although they are private (CALLBACK_ALLOWED_HOSTS, comma-separated):
     * in-cluster receivers, loopback in tests. Every other callback host must resolve to public addresses only.
     */
    callbackAllowedHosts: z.array(z.string().regex(HOST_PORT, 'host:port')).default([]),
    /** Signs the callbacks of requests made without an API key (CALLBACK_SIGNING_SECRET); keyed requests use their key's. */
    callbackSigningSecret: z.string().min(32).optional(),
  })
  .refine((c) => inflightByteBudget(c.memoryBudgetBytes) >= c.maxRequestBytes, {
    message: 'memoryBudgetBytes (EDGE_MEMORY_BUDGET_BYTES) leaves no room for one request of maxRequestBytes (MAX_REQUEST_BYTES)',
    path: ['memoryBudgetBytes'],
  })
export type EdgeConfig = z.infer<typeof EdgeConfig>

const EdgeEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: z.string().default('file:./data/genimage.db'),
  DATABASE_AUTH_TOKEN: z.string().optional(),
  /** Comma-separated runner URLs; an entry may end with `#no-token` or `#token-env=NAME` (see runners/runner-tokens.ts). */
  RUNNER_URLS: z.string().default('http://127.0.0.1:8788'),
  /** Bearer token sent to every runner without a `#…` setting of its own, and to runners announced in the database. */
  RUNNER_TOKEN: z.string().min(MIN_RUNNER_TOKEN_LENGTH, `at least ${MIN_RUNNER_TOKEN_LENGTH} characters`).optional(),
  MAX_REQUEST_BYTES: z.coerce.number().int().positive().optional(),
  BATCH_MAX_REQUEST_BYTES: z.coerce.number().int().positive().optional(),
  /** The async detect spool folder (default: `spool` beside a `file:` database, else ./data/spool). */
  SPOOL_DIR: z.string().min(1).optional(),
  SPOOL_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024 * 1024),
  MAX_IMAGE_PIXELS: z.coerce.number().int().positive().optional(),
  MAX_INFLIGHT_DETECTS: z.coerce.number().int().positive().optional(),
  MAX_REQUEST_PIXELS: z.coerce.number().int().positive().optional(),
  BODY_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  EDGE_MEMORY_BUDGET_BYTES: z.coerce.number().int().positive().optional(),
  RUNNER_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  DETECT_THRESHOLD: z.coerce.number().min(0).max(1).optional(),
  DEFAULT_MODEL: z.string().optional(),
  REQUIRE_API_KEY: z.enum(['true', 'false', 'auto']).default('auto'),
  EDGE_ALLOW_URL_INPUT: z.enum(['true', 'false']).default('false'),
  URL_FETCH_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  RUNNER_REGISTRY: z.enum(['true', 'false']).default('true'),
  RUNNER_HEARTBEAT_TTL_MS: z.coerce.number().int().positive().optional(),
  BREAKER_THRESHOLD: z.coerce.number().int().positive().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  MAX_EXPERIMENT_SPEC_BYTES: z.coerce.number().int().positive().optional(),
  MAX_EXPERIMENT_RUNS: z.coerce.number().int().positive().optional(),
  MAX_EVENT_STREAMS_PER_KEY: z.coerce.number().int().positive().optional(),
  DATA_ROOTS: z
    .string()
    .refine((value) => commaList(value).every((root) => DataRootPath.safeParse(root).success), 'comma-separated absolute paths without . or .. segments')
    .optional(),
  DATASET_DIRS: z
    .string()
    .refine((value) => commaList(value).every((dir) => DataRootPath.safeParse(dir).success), 'comma-separated absolute paths without . or .. segments')
    .optional(),
  ALLOWED_ORIGINS: z.string().optional(),
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  CALLBACK_ALLOWED_HOSTS: z
    .string()
    .refine((value) => commaList(value).every((entry) => HOST_PORT.test(entry)), 'comma-separated host:port pairs')
    .optional(),
  CALLBACK_SIGNING_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  CALLBACK_RETRY_BASE_MS: z.coerce.number().int().positive().optional(),
  CALLBACK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).optional(),
  CALLBACK_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
})

export interface EdgeEnvironment {
  port: number
  host: string
  databaseUrl: string
  databaseAuthToken?: string
  runnerUrls: string[]
  /** The token sent to each runner (RUNNER_TOKEN, and `#no-token` / `#token-env=NAME` in RUNNER_URLS). */
  runnerTokens: RunnerTokens
  /** Also route to runners announced in the database's `runners` table (RUNNER_REGISTRY, default true). */
  runnerRegistry: boolean
  runnerHeartbeatTtlMs?: number
  breakerThreshold?: number
  /** How long the edge waits for a runner's answer (RUNNER_TIMEOUT_MS, default 30000); a timeout is slow, not down. */
  runnerTimeoutMs?: number
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent'
  /** Where async detect images wait (SPOOL_DIR) and the most bytes they may take (SPOOL_MAX_BYTES, default 1 GiB). */
  spool: { dir: string; maxBytes: number }
  /** How callbacks are retried and how long one attempt may take (CALLBACK_RETRY_BASE_MS, CALLBACK_MAX_ATTEMPTS, CALLBACK_TIMEOUT_MS). */
  callbackDelivery: { retryBaseMs?: number; maxAttempts?: number; timeoutMs?: number }
  config: EdgeConfig
}

const commaList = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)

/** Parses the edge's environment once; throws naming the variable that is wrong. */
export function edgeEnvironment(env: Record<string, string | undefined>): EdgeEnvironment {
  const parsed = EdgeEnv.safeParse(env)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`invalid edge environment: ${issue?.path.join('.')}: ${issue?.message}`)
  }
  const e = parsed.data
  const runners = parseRunnerUrls(e.RUNNER_URLS, env, e.RUNNER_TOKEN)
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseAuthToken: e.DATABASE_AUTH_TOKEN,
    runnerUrls: runners.urls,
    runnerTokens: runners.tokens,
    runnerRegistry: e.RUNNER_REGISTRY === 'true',
    runnerHeartbeatTtlMs: e.RUNNER_HEARTBEAT_TTL_MS,
    breakerThreshold: e.BREAKER_THRESHOLD,
    runnerTimeoutMs: e.RUNNER_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    spool: { dir: e.SPOOL_DIR ?? defaultSpoolDir(e.DATABASE_URL), maxBytes: e.SPOOL_MAX_BYTES },
    callbackDelivery: { retryBaseMs: e.CALLBACK_RETRY_BASE_MS, maxAttempts: e.CALLBACK_MAX_ATTEMPTS, timeoutMs: e.CALLBACK_TIMEOUT_MS },
    config: EdgeConfig.parse({
      maxRequestBytes: e.MAX_REQUEST_BYTES,
      maxBatchRequestBytes: e.BATCH_MAX_REQUEST_BYTES,
      maxImagePixels: e.MAX_IMAGE_PIXELS,
      maxInflightDetects: e.MAX_INFLIGHT_DETECTS,
      maxRequestPixels: e.MAX_REQUEST_PIXELS,
      bodyTimeoutMs: e.BODY_TIMEOUT_MS,
      memoryBudgetBytes: e.EDGE_MEMORY_BUDGET_BYTES,
      threshold: e.DETECT_THRESHOLD,
      defaultModel: e.DEFAULT_MODEL,
      apiKeys: { true: 'required', false: 'optional', auto: 'auto' }[e.REQUIRE_API_KEY],
      allowUrlInput: e.EDGE_ALLOW_URL_INPUT === 'true',
      urlFetchTimeoutMs: e.URL_FETCH_TIMEOUT_MS,
      maxExperimentSpecBytes: e.MAX_EXPERIMENT_SPEC_BYTES,
      maxExperimentRuns: e.MAX_EXPERIMENT_RUNS,
      maxEventStreamsPerKey: e.MAX_EVENT_STREAMS_PER_KEY,
      dataRoots: e.DATA_ROOTS === undefined ? undefined : commaList(e.DATA_ROOTS),
      datasetDirs: e.DATASET_DIRS === undefined ? undefined : commaList(e.DATASET_DIRS),
      allowedOrigins: e.ALLOWED_ORIGINS === undefined ? undefined : commaList(e.ALLOWED_ORIGINS),
      metricsToken: e.METRICS_TOKEN,
      callbackAllowedHosts: e.CALLBACK_ALLOWED_HOSTS === undefined ? undefined : commaList(e.CALLBACK_ALLOWED_HOSTS),
      callbackSigningSecret: e.CALLBACK_SIGNING_SECRET,
    }),
  }
}

/** The spool beside a `file:` database (`file:./data/genimage.db` → `./data/spool`); ./data/spool for a database server. */
function defaultSpoolDir(databaseUrl: string): string {
  if (!databaseUrl.startsWith('file:') || databaseUrl === 'file::memory:') return './data/spool'
  const path = databaseUrl.slice('file:'.length).split('?')[0] ?? ''
  const folder = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : './'
  return `${folder}spool`
}
