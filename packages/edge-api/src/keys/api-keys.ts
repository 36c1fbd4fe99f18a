import type { ApiKeyScope, ApiKeySummary, CreateApiKeyRequest, CreatedApiKey } from '@genimage/shared'

/** An API key as the edge checks it: never the secret, which is stored only as its sha256. */
export interface ApiKeyRecord {
  id: string
  name: string
  scopes: ApiKeyScope[]
  /** Requests per minute this key may make on one edge instance; null means unlimited. */
  rateLimitPerMinute: number | null
  revokedAt: Date | null
}

/** Where the edge looks keys up. The app sees only this interface. */
export interface KeyStore {
  /** The key whose secret hashes to `secretHash` (hex sha256), revoked or not; undefined when none. */
  findBySecretHash(secretHash: string): Promise<ApiKeyRecord | undefined>
  /**
   * Whether a key was ever created, revoked ones included (drives `REQUIRE_API_KEY=auto`: once true, it stays true,
   * so revoking the last key never makes the API anonymous).
   */
  anyEverCreated(): Promise<boolean>
  /** The secret that signs this key's async-detect callbacks; undefined when it has none. Without it, no callbacks. */
  callbackSecret?(keyId: string): Promise<string | undefined>
  /** Creating, listing and revoking keys over the API (`/v1/keys`); a store without it does not serve those routes. */
  manage?: KeyManagement
}

/** Key management as `genimage keys create|list|revoke` does it, for the `/v1/keys` routes (the web console). */
export interface KeyManagement {
  /** Every key, newest first, revoked ones included; never a secret or its hash. */
  list(): Promise<ApiKeySummary[]>
  /** Creates a key; the answer holds its secret, which exists nowhere else (only its sha256 is stored). */
  create(request: CreateApiKeyRequest): Promise<CreatedApiKey>
  /** Revokes a key (idempotent); lookups refuse it from the next request. Undefined when no key has that id. */
  revoke(id: string): Promise<ApiKeySummary | undefined>
}

/** A KeyStore with no keys: every request is anonymous unless keys are required. */
export const noKeys: KeyStore = {
  findBySecretHash: async () => undefined,
  anyEverCreated: async () => false,
}

/** Whether a key's scopes allow `scope`; `admin` allows everything. */
export function hasScope(key: Pick<ApiKeyRecord, 'scopes'>, scope: ApiKeyScope): boolean {
  return key.scopes.includes(scope) || key.scopes.includes('admin')
}
