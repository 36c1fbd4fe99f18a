import { DetectResponse, type ModelSummary, ModelsResponse } from '@genimage/shared'
import { useEffect, useRef, useState } from 'hono/jsx/dom'
import type { ConsoleConfig } from '../console-build.ts'
import { ApiFailure, api, apiKey, authHeaders, failureOf } from './api.ts'
import { CopyBlock, Failure } from './parts.tsx'
import { ScoreResult } from './score-result.tsx'
import { detectCurl, thumbnailOf } from './uploads.ts'

/** One file (or URL) sent to `POST /v1/detect`, from the moment it is dropped to its answer. */
interface Upload {
  id: number
  name: string
  bytes?: number
  /** A small data: URL drawn in this browser; never uploaded, never stored. */
  thumbnail?: string
  answer?: DetectResponse
  failure?: ApiFailure
  curl: string
}

let nextUpload = 0

/** Detect: drop, pick or paste images (or give a URL where the deployment allows it) and read each verdict. */
export function DetectPage(props: { config: ConsoleConfig }) {
  const [models, setModels] = useState<ModelSummary[] | undefined>(undefined)
  const [modelsFailure, setModelsFailure] = useState<ApiFailure | undefined>(undefined)
  const [model, setModel] = useState('')
  const [uploads, setUploads] = useState<Upload[]>([])
  const [dragging, setDragging] = useState(false)
  const modelRef = useRef('')
  modelRef.current = model

  useEffect(() => {
    api('/v1/models', { parse: (b) => ModelsResponse.parse(b) })
      .then((answer) => setModels(answer.models))
      .catch((failure: ApiFailure) => setModelsFailure(failure))
  }, [])

  // Attribution bars take room: reserve it when the chosen model (or, with none chosen, any served model) attributes.
  const expectsAttribution = (models ?? []).some((m) => (!model || m.name === model) && m.labels.some((label) => label !== 'nature' && label !== 'ai'))

  const update = (id: number, change: Partial<Upload>) => setUploads((list) => list.map((u) => (u.id === id ? { ...u, ...change } : u)))

  const send = async (id: number, part: { file: File } | { url: string }) => {
    const form = new FormData()
    if ('file' in part) form.append('image', part.file, part.file.name)
    else form.append('url', part.url)
    if (modelRef.current) form.append('model', modelRef.current)
    try {
      const response = await fetch('/v1/detect', { method: 'POST', body: form, headers: authHeaders() })
      if (!response.ok) return update(id, { failure: await failureOf(response) })
      update(id, { answer: DetectResponse.parse(await response.json()) })
    } catch (error) {
      update(id, { failure: error instanceof ApiFailure ? error : new ApiFailure(0, 'network_error', (error as Error).message) })
    }
  }

  const addFiles = (files: Iterable<File>) => {
    const origin = location.origin
    for (const file of files) {
      const id = nextUpload++
      const upload: Upload = {
        id,
        name: file.name || 'pasted image',
        bytes: file.size,
        curl: detectCurl(origin, { file: file.name || 'image' }, modelRef.current, Boolean(apiKey.get())),
      }
      setUploads((list) => [...list, upload])
      thumbnailOf(file).then((thumbnail) => thumbnail && update(id, { thumbnail }))
      void send(id, { file })
    }
  }

  const addUrl = (event: Event) => {
    event.preventDefault()
    const input = (event.target as HTMLFormElement).elements.namedItem('image-url') as HTMLInputElement
    const url = input.value.trim()
    if (!url) return
    const id = nextUpload++
    setUploads((list) => [...list, { id, name: url, curl: detectCurl(location.origin, { url }, modelRef.current, Boolean(apiKey.get())) }])
    void send(id, { url })
  }

  useEffect(() => {
    const onPaste = (event: ClipboardEvent) => {
      const files = [...(event.clipboardData?.files ?? [])]
      if (files.length) addFiles(files)
    }
    window.addEventListener('paste', onPaste)
    return () => window.removeEventListener('paste', onPaste)
  }, [])

  return (
    <section aria-labelledby="detect-title">
      <h1 id="detect-title">Detect AI-generated images</h1>
      <div class="controls">
        <label for="model-picker">Model</label>
        <select id="model-picker" value={model} onChange={(e: Event) => setModel((e.target as HTMLSelectElement).value)}>
          <option value="">Deployment default</option>
          {(models ?? []).map((m) => (
            <option value={m.name}>
              {m.name} ({m.architecture})
            </option>
          ))}
        </select>
        {models && models.length === 0 && <p class="note">No model is served yet; see the Models page.</p>}
        {modelsFailure && <Failure failure={modelsFailure} />}
      </div>
      <section
        aria-label="Drop images here"
        class={`dropzone${dragging ? ' dragging' : ''}`}
        onDragOver={(e: DragEvent) => {
          e.preventDefault()
          setDragging(true)
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e: DragEvent) => {
          e.preventDefault()
          setDragging(false)
          addFiles([...(e.dataTransfer?.files ?? [])])
        }}
      >
        <label for="image-files">Choose images</label>
        <input
          id="image-files"
          type="file"
          multiple
          onChange={(e: Event) => {
            const input = e.target as HTMLInputElement
            addFiles([...(input.files ?? [])])
            input.value = ''
          }}
        />
        <p class="note">…or drop them here, or paste one (Ctrl+V). Each image is sent on its own, so one bad file refuses only itself.</p>
      </section>
      {props.config.allowUrlInput && (
        <form class="row" onSubmit={addUrl}>
          <label for="image-url">Image URL</label>
          <input id="image-url" name="image-url" type="url" placeholder="https://…" />
          <button type="submit">Score URL</button>
        </form>
      )}
      <ol class="uploads" aria-label="Scored images" aria-live="polite">
        {uploads.map((u) => (
          <li class="upload" data-state={u.answer ? 'scored' : u.failure ? 'refused' : 'pending'}>
            <div class="thumb">{u.thumbnail ? <img src={u.thumbnail} alt={`preview of ${u.name}`} width={96} height={96} /> : <span>no preview</span>}</div>
            <div class="upload-body">
              <p class="file-name">
                <strong>{u.name}</strong>
                {u.bytes !== undefined && <span class="note"> · {formatBytes(u.bytes)}</span>}
              </p>
              <div class={expectsAttribution ? 'result-slot with-attribution' : 'result-slot'}>
                {u.answer ? (
                  <ScoreResult answer={u.answer} />
                ) : u.failure ? (
                  <Failure failure={u.failure} />
                ) : (
                  <p class="note" role="status">
                    Scoring…
                  </p>
                )}
              </div>
              <details>
                <summary>JSON answer and curl</summary>
                <CopyBlock label="curl" text={u.curl} />
                <CopyBlock label="JSON" text={u.answer || u.failure ? JSON.stringify(u.answer ?? u.failure?.body, null, 2) : '(waiting)'} />
              </details>
            </div>
          </li>
        ))}
      </ol>
    </section>
  )
}

export const formatBytes = (bytes: number) =>
  bytes < 1024 ? `${bytes} B` : bytes < 1 << 20 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / (1 << 20)).toFixed(1)} MiB`
