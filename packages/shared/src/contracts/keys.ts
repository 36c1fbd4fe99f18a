import { z } from 'zod'

/**
 * What an API key may do: `detect` (detect, models and its own past detections), `experiments` (its own experiments),
 * `metrics` (scrape `/metrics`, nothing else), `admin` (everything, every key's experiments and detections included, and
 * managing keys).
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

/** The answer to creating a key: the only time the secret and the callback signing secret are shown. */
export const CreatedApiKey = ApiKeySummary.extend({
  secret: z.string(),
  callback_secret: z
    .string()
    .describe('signs the async-detect callbacks of this key (`Genimage-Signature`, HMAC-SHA256); keep it on the receiver, it is not shown again'),
})
export type CreatedApiKey = z.infer<typeof CreatedApiKey>

/** `POST /v1/keys`: a new key's name, scopes and optional per-minute limit (the same rules as `genimage keys create`). */
export const CreateApiKeyRequest = z
  .object({
    name: z.string().trim().min(1).max(200).describe('who or what uses the key'),
    scopes: z.array(ApiKeyScope).min(1).max(ApiKeyScope.options.length).describe('what the key may do; `admin` allows everything'),
    rate_limit_per_minute: z.number().int().positive().max(1_000_000).optional().describe('requests per minute per edge instance; omit for unlimited'),
  })
  .strict()
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequest>

/** `GET /v1/keys`: every key, newest first, revoked ones included; never a secret. */
export const ApiKeyListResponse = z.object({ keys: z.array(ApiKeySummary) })
export type ApiKeyListResponse = z.infer<typeof ApiKeyListResponse>

/** `POST /v1/keys/{id}/revoke`: the key as it is now (revoking twice answers the first revocation). */
export const RevokedApiKey = ApiKeySummary.extend({ revoked_at: z.string() })
export type RevokedApiKey = z.infer<typeof RevokedApiKey>
