import { render, useEffect, useState } from 'hono/jsx/dom'
import type { ConsoleConfig } from '../console-build.ts'
import { KeyForm } from './key-form.tsx'
import { apiKey, authHeaders, onUnauthorized } from './api.ts'
import { DetectionsPage } from './detections-page.tsx'
import { KeysPage } from './keys-page.tsx'
import { DetectPage } from './detect-page.tsx'
import { ExperimentView } from './experiment-view.tsx'
import { ExperimentsPage } from './experiments-page.tsx'
import { ModelsPage } from './models-page.tsx'

const config: ConsoleConfig = (() => {
  try {
    return JSON.parse(document.getElementById('console-config')?.textContent ?? '{}') as ConsoleConfig
  } catch {
    return { allowUrlInput: false, maxRequestBytes: 0 }
  }
})()

type Scope = 'detect' | 'experiments' | 'admin'

/**
 * The pages, each with the key scope its API routes need. Pages a key may lack come last, so hiding them once the
 * scopes are known moves no other link.
 */
const PAGES: ReadonlyArray<{ path: string; label: string; scope: Scope }> = [
  { path: 'detect', label: 'Detect', scope: 'detect' },
  { path: 'models', label: 'Models', scope: 'detect' },
  { path: 'detections', label: 'Detections', scope: 'detect' },
  { path: 'experiments', label: 'Experiments', scope: 'experiments' },
  { path: 'keys', label: 'Keys', scope: 'admin' },
]

/** One GET per scope, to learn what the kept key (or no key) may do: true on 200, false on 403 or 404, unknown on 401. */
async function probeScopes(): Promise<Partial<Record<Scope, boolean>>> {
  const probe = async (path: string) => {
    const status = await fetch(path, { headers: authHeaders() })
      .then((r) => {
        void r.body?.cancel()
        return r.status
      })
      .catch(() => 0)
    return status === 200 ? true : status === 403 || status === 404 ? false : undefined
  }
  const [detect, experiments, admin] = await Promise.all([probe('/v1/models'), probe('/v1/experiments'), probe('/v1/keys')])
  return { detect, experiments, admin: admin === true }
}

/** `#/experiments/exp_1` → ['experiments', 'exp_1']; the default page is Detect. */
function currentRoute(): string[] {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  return parts.length ? parts : ['detect']
}

function App() {
  const [route, setRoute] = useState(currentRoute())
  const [keyRefusal, setKeyRefusal] = useState<string | undefined>(undefined)
  const [generation, setGeneration] = useState(0)
  const [hasKey, setHasKey] = useState(Boolean(apiKey.get()))
  const [scopes, setScopes] = useState<Partial<Record<Scope, boolean>>>({ admin: false })
  useEffect(() => {
    probeScopes().then(setScopes)
  }, [generation])

  useEffect(() => {
    const onHash = () => setRoute(currentRoute())
    window.addEventListener('hashchange', onHash)
    const stop = onUnauthorized((failure) => setKeyRefusal(failure.message))
    return () => {
      window.removeEventListener('hashchange', onHash)
      stop()
    }
  }, [])
  useEffect(() => {
    const label = PAGES.find((p) => p.path === route[0])?.label ?? 'Console'
    document.title = `${label} · GenImage console`
  }, [route[0]])

  const accepted = () => {
    setKeyRefusal(undefined)
    setHasKey(true)
    setGeneration(generation + 1)
  }
  const forget = () => {
    apiKey.clear()
    setHasKey(false)
    setGeneration(generation + 1)
  }
  const [page, ...rest] = route
  return (
    <>
      <header class="top">
        <a class="brand" href="#/detect">
          GenImage console
        </a>
        <nav aria-label="Console pages">
          {PAGES.filter((p) => scopes[p.scope] !== false).map((p) => (
            <a href={`#/${p.path}`} aria-current={p.path === page ? 'page' : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        {hasKey && (
          <button type="button" class="link" onClick={forget}>
            Forget key
          </button>
        )}
      </header>
      {keyRefusal !== undefined && <KeyForm reason={keyRefusal} onAccepted={accepted} />}
      <main id="main">
        {page === 'detections' ? (
          <DetectionsPage key={`t${generation}`} />
        ) : page === 'keys' ? (
          <KeysPage key={`k${generation}`} />
        ) : page === 'models' ? (
          <ModelsPage key={`m${generation}`} />
        ) : page === 'experiments' ? (
          rest[0] ? (
            <ExperimentView key={`x${generation}${rest[0]}`} id={rest[0]} />
          ) : (
            <ExperimentsPage key={`e${generation}`} />
          )
        ) : (
          <DetectPage key={`d${generation}`} config={config} />
        )}
      </main>
    </>
  )
}

const root = document.getElementById('app')
if (root) {
  root.textContent = ''
  render(<App />, root)
}
