import { useState } from 'hono/jsx/dom'
import { ApiFailure, apiKey, authHeaders, failureOf } from './api.ts'

/**
 * Asks for an API key when the edge answered 401: checks it against `GET /v1/models` before keeping it in
 * `sessionStorage`, and says plainly when it is refused. A key without the `detect` scope (403) is still a key.
 */
export function KeyForm(props: { reason: string; onAccepted: () => void }) {
  const [refused, setRefused] = useState<string | undefined>(undefined)
  const [checking, setChecking] = useState(false)
  const submit = async (event: Event) => {
    event.preventDefault()
    const input = (event.target as HTMLFormElement).elements.namedItem('api-key') as HTMLInputElement
    const key = input.value.trim()
    if (!key) return setRefused('Enter a key.')
    setChecking(true)
    try {
      const response = await fetch('/v1/models', { headers: authHeaders(key) })
      if (response.status === 401) {
        const failure: ApiFailure = await failureOf(response.clone()).catch(() => new ApiFailure(401, 'unauthorized', 'refused'))
        setRefused(`Refused: ${failure.message} (401 ${failure.code}).`)
        return
      }
      apiKey.set(key)
      setRefused(undefined)
      props.onAccepted()
    } finally {
      setChecking(false)
    }
  }
  return (
    <section class="key-gate" aria-labelledby="key-gate-title">
      <h2 id="key-gate-title">This deployment needs an API key</h2>
      <p>
        The edge answered: <q>{props.reason}</q>. The key is kept in this tab only (sessionStorage) and sent as <code>Authorization: Bearer</code>.
      </p>
      <form onSubmit={submit} class="row">
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck={false} required />
        <button type="submit" disabled={checking}>
          Use this key
        </button>
      </form>
      {refused && (
        <p class="error" role="alert">
          {refused}
        </p>
      )}
    </section>
  )
}
