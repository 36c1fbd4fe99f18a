import { ApiKeyListResponse, ApiKeyScope, type ApiKeySummary, CreateApiKeyRequest, CreatedApiKey, RevokedApiKey } from '@genimage/shared'
import { useEffect, useState } from 'hono/jsx/dom'
import { ApiFailure, api } from './api.ts'
import { CopyBlock, Failure } from './parts.tsx'

/** Keys (an `admin` key only): every key with its scopes, create one (its secret shown once), revoke one. */
export function KeysPage() {
  const [keys, setKeys] = useState<ApiKeySummary[] | undefined>(undefined)
  const [failure, setFailure] = useState<ApiFailure | undefined>(undefined)
  const [created, setCreated] = useState<CreatedApiKey | undefined>(undefined)
  const [problems, setProblems] = useState<string[]>([])

  const load = () =>
    api('/v1/keys', { parse: (b) => ApiKeyListResponse.parse(b) })
      .then((answer) => setKeys(answer.keys))
      .catch((f: ApiFailure) => setFailure(f))
  useEffect(() => {
    void load()
  }, [])

  const create = async (event: Event) => {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const data = new FormData(form)
    const limit = String(data.get('rate-limit') ?? '').trim()
    const body = {
      name: String(data.get('key-name') ?? ''),
      scopes: data.getAll('scope').map(String),
      ...(limit ? { rate_limit_per_minute: Number(limit) } : {}),
    }
    const parsed = CreateApiKeyRequest.safeParse(body)
    if (!parsed.success) return setProblems(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`))
    setProblems([])
    try {
      const key = await api('/v1/keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(parsed.data),
        parse: (b) => CreatedApiKey.parse(b),
      })
      setCreated(key)
      form.reset()
      await load()
    } catch (error) {
      setFailure(error instanceof ApiFailure ? error : new ApiFailure(0, 'network_error', String(error)))
    }
  }
  const revoke = async (key: ApiKeySummary) => {
    try {
      await api(`/v1/keys/${encodeURIComponent(key.id)}/revoke`, { method: 'POST', parse: (b) => RevokedApiKey.parse(b) })
      await load()
    } catch (error) {
      setFailure(error as ApiFailure)
    }
  }

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      {failure && <Failure failure={failure} />}
      <form class="key-form card" onSubmit={create} aria-labelledby="new-key">
        <h2 id="new-key">Create a key</h2>
        <div class="row">
          <label for="key-name">Name</label>
          <input id="key-name" name="key-name" required maxLength={200} />
          <label for="rate-limit">Requests per minute (optional)</label>
          <input id="rate-limit" name="rate-limit" type="number" min={1} />
        </div>
        <fieldset>
          <legend>Scopes</legend>
          {ApiKeyScope.options.map((scope) => (
            <label class="check">
              <input type="checkbox" name="scope" value={scope} checked={scope === 'detect'} /> {scope}
            </label>
          ))}
        </fieldset>
        {problems.length > 0 && (
          <p class="error" role="alert">
            {problems.join('; ')}
          </p>
        )}
        <button type="submit">Create key</button>
      </form>
      {created && (
        <div class="warning" role="status">
          <p>
            Key <strong>{created.name}</strong> created. Its secret and its callback signing secret are shown this once; copy them now.
          </p>
          <CopyBlock label="secret" text={created.secret} />
          <CopyBlock label="callback signing secret (verifies Genimage-Signature on async-detect callbacks)" text={created.callback_secret} />
        </div>
      )}
      <div class="table-scroll">
        <table class="keys">
          <thead>
            <tr>
              <th scope="col">name</th>
              <th scope="col">prefix</th>
              <th scope="col">scopes</th>
              <th scope="col" class="num">
                per minute
              </th>
              <th scope="col">created</th>
              <th scope="col">state</th>
            </tr>
          </thead>
          <tbody>
            {(keys ?? []).map((k) => (
              <tr>
                <th scope="row">{k.name}</th>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{k.scopes.join(', ')}</td>
                <td class="num">{k.rate_limit_per_minute ?? 'unlimited'}</td>
                <td>{new Date(k.created_at).toLocaleString()}</td>
                <td>
                  {k.revoked_at ? (
                    <span class="state cancelled">revoked {new Date(k.revoked_at).toLocaleString()}</span>
                  ) : (
                    <button type="button" class="small danger" onClick={() => revoke(k)} aria-label={`Revoke key ${k.name}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}
