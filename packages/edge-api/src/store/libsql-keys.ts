import type { ApiKeyScope } from '@genimage/shared'
import { anyApiKeyEverCreated, createApiKey, type Db, findApiKeyBySecretHash, findCallbackSecret, listApiKeys, revokeApiKey } from '@genimage/shared/db'
import type { KeyStore } from '../keys/api-keys.ts'

/** KeyStore over the `api_keys` table (keys are created with `npx genimage keys create` or `POST /v1/keys`). */
export function libsqlKeyStore(db: Db): KeyStore {
  return {
    async findBySecretHash(secretHash) {
      const row = await findApiKeyBySecretHash(db, secretHash)
      if (!row) return undefined
      return { id: row.id, name: row.name, scopes: row.scopes as ApiKeyScope[], rateLimitPerMinute: row.rateLimitPerMinute, revokedAt: row.revokedAt }
    },
    anyEverCreated: () => anyApiKeyEverCreated(db),
    callbackSecret: (keyId) => findCallbackSecret(db, keyId),
    manage: {
      list: () => listApiKeys(db),
      create: (request) =>
        createApiKey(db, {
          name: request.name,
          scopes: request.scopes,
          ...(request.rate_limit_per_minute === undefined ? {} : { rateLimitPerMinute: request.rate_limit_per_minute }),
        }),
      revoke: (id) => revokeApiKey(db, id),
    },
  }
}
