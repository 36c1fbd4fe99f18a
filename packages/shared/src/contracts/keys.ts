import { z } from 'zod'

/**
 * What an API key may do: `detect` (detect and models), `experiments` (its own experiments), `metrics` (scrape
 * `/metrics`, nothing else), `admin` (everything, every key's experiments included).
 */
export const ApiKeyScope = z.enum(['detect', 'experiments', 'metrics', 'admin'])
export type ApiKeyScope = z.infer<typeof ApiKeyScope>

/** An API key as listed: never the secret, only its first characters (`prefix`) to recognise it by. */
export const ApiKeySummary = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(ApiKeyScope),
  rate_limit_per_minute: z.number().int().positive().nullable(),
  created_at: z.string(),
  revoked_at: z.string().nullable(),
})
export type ApiKeySummary = z.infer<typeof ApiKeySummary>

/** The answer to creating a key: the only time the secret is shown. */
export const CreatedApiKey = ApiKeySummary.extend({ secret: z.string() })
export type CreatedApiKey = z.infer<typeof CreatedApiKey>
