import { z } from 'zod'

export const EdgeConfig = z.object({
  /** Largest multipart request accepted, in bytes (all images together). */
  maxRequestBytes: z.number().int().positive().default(20 * 1024 * 1024),
  /** Largest width × height accepted, checked from the image header before it reaches a runner. */
  maxImagePixels: z.number().int().positive().default(40_000_000),
  /** Most images in one request. */
  maxImagesPerRequest: z.number().int().positive().default(16),
  /** ai_generated at or above this is verdict `ai`. */
  threshold: z.number().min(0).max(1).default(0.5),
  /** Model used when a request names none; otherwise the first served model by name. */
  defaultModel: z.string().optional(),
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
  DETECT_THRESHOLD: z.coerce.number().min(0).max(1).optional(),
  DEFAULT_MODEL: z.string().optional(),
})

export interface EdgeEnvironment {
  port: number
  host: string
  databaseUrl: string
  databaseAuthToken?: string
  runnerUrls: string[]
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
    runnerUrls: e.RUNNER_URLS.split(',').map((u) => u.trim()).filter(Boolean),
    config: EdgeConfig.parse({
      maxRequestBytes: e.MAX_REQUEST_BYTES,
      maxImagePixels: e.MAX_IMAGE_PIXELS,
      threshold: e.DETECT_THRESHOLD,
      defaultModel: e.DEFAULT_MODEL,
    }),
  }
}
