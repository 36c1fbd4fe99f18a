import type { ApiKeyScope } from '@genimage/shared'

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
  /** How many keys are not revoked (drives `REQUIRE_API_KEY=auto`). */
  countActive(): Promise<number>
}

/** A KeyStore with no keys: every request is anonymous unless keys are required. */
export const noKeys: KeyStore = {
  findBySecretHash: async () => undefined,
  countActive: async () => 0,
}

/** Whether a key's scopes allow `scope`; `admin` allows everything. */
export function hasScope(key: Pick<ApiKeyRecord, 'scopes'>, scope: ApiKeyScope): boolean {
  return key.scopes.includes(scope) || key.scopes.includes('admin')
}
