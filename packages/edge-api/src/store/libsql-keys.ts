import type { ApiKeyScope } from '@genimage/shared'
import { anyApiKeyEverCreated, type Db, findApiKeyBySecretHash } from '@genimage/shared/db'
import type { KeyStore } from '../keys/api-keys.ts'

/** KeyStore over the `api_keys` table (keys are created with `npx genimage keys create`). */
export function libsqlKeyStore(db: Db): KeyStore {
  return {
    async findBySecretHash(secretHash) {
      const row = await findApiKeyBySecretHash(db, secretHash)
      if (!row) return undefined
      return { id: row.id, name: row.name, scopes: row.scopes as ApiKeyScope[], rateLimitPerMinute: row.rateLimitPerMinute, revokedAt: row.revokedAt }
    },
    anyEverCreated: () => anyApiKeyEverCreated(db),
  }
}
