import { type DetectionSummary, DetectionsPage as DetectionsPageSchema, detectionsCsv, type ModelSummary, ModelsResponse } from '@genimage/shared'
import { useEffect, useState } from 'hono/jsx/dom'
import { type ApiFailure, api } from './api.ts'
import { Failure } from './parts.tsx'

interface Filters {
  model: string
  verdict: string
  since: string
  until: string
  limit: string
}

const NO_FILTERS: Filters = { model: '', verdict: '', since: '', until: '', limit: '25' }
/** Rows per request while exporting, and the most pages one export reads. */
const EXPORT_PAGE = 500
const EXPORT_PAGES_MAX = 200

/** The query string for `GET /v1/detections`; `datetime-local` values are read as local time and sent as ISO UTC. */
function query(filters: Filters, cursor: string | undefined, limit = filters.limit): string {
  const params = new URLSearchParams()
  if (filters.model) params.set('model', filters.model)
  if (filters.verdict) params.set('verdict', filters.verdict)
  if (filters.since) params.set('since', new Date(filters.since).toISOString())
  if (filters.until) params.set('until', new Date(filters.until).toISOString())
  params.set('limit', limit)
  if (cursor) params.set('cursor', cursor)
  return `/v1/detections?${params}`
}

/** Detections: recorded rows (never images), filtered by model, verdict and time, paged by cursor, exported as CSV. */
export function DetectionsPage() {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS)
  const [applied, setApplied] = useState<Filters>(NO_FILTERS)
  /** Cursors of the pages before this one (the first page has none), so Newer can go back. */
  const [trail, setTrail] = useState<Array<string | undefined>>([undefined])
  const [rows, setRows] = useState<DetectionSummary[] | undefined>(undefined)
  const [next, setNext] = useState<string | null>(null)
  const [failure, setFailure] = useState<ApiFailure | undefined>(undefined)
  const [models, setModels] = useState<ModelSummary[]>([])
  const [exporting, setExporting] = useState<string | undefined>(undefined)
  const cursor = trail.at(-1)

  useEffect(() => {
    api('/v1/models', { parse: (b) => ModelsResponse.parse(b) })
      .then((answer) => setModels(answer.models))
      .catch(() => setModels([]))
  }, [])
  useEffect(() => {
    setFailure(undefined)
    api(query(applied, cursor), { parse: (b) => DetectionsPageSchema.parse(b) })
      .then((page) => {
        setRows(page.detections)
        setNext(page.next_cursor)
      })
      .catch((f: ApiFailure) => setFailure(f))
  }, [applied, cursor])

  const set = (name: keyof Filters) => (e: Event) => setFilters({ ...filters, [name]: (e.target as HTMLInputElement).value })
  const apply = (event: Event) => {
    event.preventDefault()
    setApplied(filters)
    setTrail([undefined])
  }
  const exportCsv = async () => {
    setExporting('Reading…')
    try {
      const all: DetectionSummary[] = []
      let position: string | undefined
      for (let page = 0; page < EXPORT_PAGES_MAX; page++) {
        const answer = await api(query(applied, position, String(EXPORT_PAGE)), { parse: (b) => DetectionsPageSchema.parse(b) })
        all.push(...answer.detections)
        setExporting(`Read ${all.length} rows…`)
        if (!answer.next_cursor) break
        position = answer.next_cursor
      }
      const url = URL.createObjectURL(new Blob([detectionsCsv(all)], { type: 'text/csv;charset=utf-8' }))
      const link = document.createElement('a')
      link.href = url
      link.download = `detections-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.csv`
      link.click()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
      setExporting(`Exported ${all.length} rows.`)
    } catch (error) {
      setFailure(error as ApiFailure)
      setExporting(undefined)
    }
  }

  return (
    <section aria-labelledby="detections-title">
      <h1 id="detections-title">Detections</h1>
      <p class="note">What each detection decided, by which model, for which key and how fast. Images are never stored, so never shown.</p>
      <form class="filters" onSubmit={apply} aria-label="Filter detections">
        <div class="field">
          <label for="filter-model">Model</label>
          <select id="filter-model" value={filters.model} onChange={set('model')}>
            <option value="">Any model</option>
            {models.map((m) => (
              <option value={m.name}>{m.name}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-verdict">Verdict</label>
          <select id="filter-verdict" value={filters.verdict} onChange={set('verdict')}>
            <option value="">Any verdict</option>
            <option value="ai">AI-generated</option>
            <option value="real">Real</option>
          </select>
        </div>
        <div class="field">
          <label for="filter-since">From</label>
          <input id="filter-since" type="datetime-local" value={filters.since} onInput={set('since')} />
        </div>
        <div class="field">
          <label for="filter-until">Until</label>
          <input id="filter-until" type="datetime-local" value={filters.until} onInput={set('until')} />
        </div>
        <div class="field">
          <label for="filter-limit">Rows per page</label>
          <select id="filter-limit" value={filters.limit} onChange={set('limit')}>
            {['2', '10', '25', '50', '100'].map((n) => (
              <option value={n}>{n}</option>
            ))}
          </select>
        </div>
        <div class="field buttons">
          <button type="submit">Apply filters</button>
        </div>
      </form>
      {failure && <Failure failure={failure} />}
      <div class="table-scroll">
        <table class="detections">
          <thead>
            <tr>
              <th scope="col">time</th>
              <th scope="col">model</th>
              <th scope="col">verdict</th>
              <th scope="col" class="num">
                AI score
              </th>
              <th scope="col" class="num">
                latency
              </th>
              <th scope="col">key</th>
              <th scope="col" class="num">
                image
              </th>
            </tr>
          </thead>
          <tbody>
            {(rows ?? []).map((d) => (
              <tr>
                <td data-label="time">{new Date(d.time).toLocaleString()}</td>
                <td data-label="model">
                  {d.model.name} <span class="note">{d.model.version}</span>
                </td>
                <td class={`verdict ${d.verdict}`} data-label="verdict">
                  <strong>{d.verdict === 'ai' ? 'AI' : 'real'}</strong>
                </td>
                <td class="num" data-label="AI score">
                  {(100 * d.ai_generated).toFixed(1)}%
                </td>
                <td class="num" data-label="latency">
                  {d.latency_ms.toFixed(0)} ms
                </td>
                <td data-label="key">{d.key ? (d.key.name ?? d.key.id) : 'anonymous'}</td>
                <td class="num" data-label="image" title={d.image_sha256}>
                  {d.image_bytes} B · {d.image_sha256.slice(0, 8)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows?.length === 0 && <p class="note">No detection matches.</p>}
      <nav class="row" aria-label="Pages of detections">
        <button type="button" disabled={trail.length < 2} onClick={() => setTrail(trail.slice(0, -1))}>
          Newer
        </button>
        <span class="note">Page {trail.length}</span>
        <button type="button" disabled={!next} onClick={() => next && setTrail([...trail, next])}>
          Older
        </button>
        <button type="button" class="secondary" onClick={exportCsv} disabled={exporting === 'Reading…'}>
          Export CSV
        </button>
        {exporting && (
          <span class="note" role="status">
            {exporting}
          </span>
        )}
      </nav>
    </section>
  )
}
