import { count, desc, eq, isNull } from 'drizzle-orm'
import { type ApiKeyScope, ApiKeyScope as ApiKeyScopeSchema, type ApiKeySummary, type CreatedApiKey } from '../contracts/keys.ts'
import type { Db } from './index.ts'
import { apiKeys } from './schema/detect.ts'

/** An `api_keys` row. */
export type ApiKeyRow = typeof apiKeys.$inferSelect

/** Every secret starts with this, so leaked keys are easy to recognise (and to scan for). */
export const API_KEY_SECRET_PREFIX = 'gik_'

/** A new random secret: `gik_` and 32 random bytes in base64url (web crypto only). */
export function generateApiKeySecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  const base64 = btoa(String.fromCharCode(...bytes))
  return API_KEY_SECRET_PREFIX + base64.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** Every callback signing secret starts with this (a different prefix from key secrets, so the two are never mixed up). */
export const CALLBACK_SECRET_PREFIX = 'gcs_'

/** A new random callback signing secret: `gcs_` and 32 random bytes in base64url. */
export function generateCallbackSecret(): string {
  return CALLBACK_SECRET_PREFIX + generateApiKeySecret().slice(API_KEY_SECRET_PREFIX.length)
}

/** Hex sha256 of a secret: what is stored and looked up. */
export async function hashApiKeySecret(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret)))
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** A row as listed: no secret, no hash. */
export function apiKeySummary(row: ApiKeyRow): ApiKeySummary {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes as ApiKeyScope[],
    rate_limit_per_minute: row.rateLimitPerMinute,
    created_at: row.createdAt.toISOString(),
    revoked_at: row.revokedAt?.toISOString() ?? null,
  }
}

export interface CreateApiKeyOptions {
  name: string
  scopes: string[]
  /** Requests per minute per edge instance; omit for unlimited. */
  rateLimitPerMinute?: number
  now?: Date
}

/**
 * Creates a key and returns it with its secret — the only time the secret exists; only its sha256 is stored — and
 * with its callback signing secret, which is stored as is (signing needs it) but never listed or shown again.
 * @example const key = await createApiKey(db, { name: 'moderation', scopes: ['detect'], rateLimitPerMinute: 600 })
 * @throws Error when the name is empty, a scope is unknown or the rate limit is not a positive integer.
 */
export async function createApiKey(db: Db, options: CreateApiKeyOptions): Promise<CreatedApiKey> {
  const name = options.name.trim()
  if (!name || name.length > 200) throw new Error('key name must be 1 to 200 characters')
  const known = ApiKeyScopeSchema.options.join(', ')
  if (options.scopes.length === 0) throw new Error(`give at least one scope (${known})`)
  for (const scope of options.scopes) {
    if (!ApiKeyScopeSchema.safeParse(scope).success) throw new Error(`unknown scope "${scope}"; known: ${known}`)
  }
  const limit = options.rateLimitPerMinute
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new Error('rate limit must be a positive whole number of requests per minute')
  const secret = generateApiKeySecret()
  const callbackSecret = generateCallbackSecret()
  const row: ApiKeyRow = {
    id: `key_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`,
    name,
    prefix: secret.slice(0, 12),
    secretHash: await hashApiKeySecret(secret),
    scopes: [...new Set(options.scopes)],
    rateLimitPerMinute: limit ?? null,
    callbackSecret,
    createdAt: options.now ?? new Date(),
    revokedAt: null,
  }
  await db.insert(apiKeys).values(row)
  return { ...apiKeySummary(row), secret, callback_secret: callbackSecret }
}

/** Every key, newest first, without secrets. */
export async function listApiKeys(db: Db): Promise<ApiKeySummary[]> {
  const rows = await db.select().from(apiKeys).orderBy(desc(apiKeys.createdAt))
  return rows.map(apiKeySummary)
}

/** Revokes a key (idempotent); edges refuse it from their next lookup. Undefined when no key has that id. */
export async function revokeApiKey(db: Db, id: string, now: Date = new Date()): Promise<ApiKeySummary | undefined> {
  const [existing] = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1)
  if (!existing) return undefined
  if (existing.revokedAt) return apiKeySummary(existing)
  const [row] = await db.update(apiKeys).set({ revokedAt: now }).where(eq(apiKeys.id, id)).returning()
  return row ? apiKeySummary(row) : undefined
}

/** The key whose secret hashes to `secretHash`, revoked or not. */
export async function findApiKeyBySecretHash(db: Db, secretHash: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.secretHash, secretHash)).limit(1)
  return row
}

/** The callback signing secret of a key; undefined for an unknown key or one made before callbacks existed. */
export async function findCallbackSecret(db: Db, keyId: string): Promise<string | undefined> {
  const [row] = await db.select({ secret: apiKeys.callbackSecret }).from(apiKeys).where(eq(apiKeys.id, keyId)).limit(1)
  return row?.secret ?? undefined
}

/** How many keys are not revoked. */
export async function countActiveApiKeys(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(apiKeys).where(isNull(apiKeys.revokedAt))
  return row?.n ?? 0
}

/**
 * Whether any key was ever created, revoked ones included (rows are never deleted). Drives `REQUIRE_API_KEY=auto`:
 * once a deployment has had a key it keeps requiring one, so revoking the last key never opens the API.
 */
export async function anyApiKeyEverCreated(db: Db): Promise<boolean> {
  const rows = await db.select({ id: apiKeys.id }).from(apiKeys).limit(1)
  return rows.length > 0
}
