import { CreateExperimentResponse, DatasetListResponse, type DatasetSummary, type ExperimentSummary, ExperimentListResponse } from '@genimage/shared'
import { useEffect, useState } from 'hono/jsx/dom'
import { ApiFailure, api } from './api.ts'
import { DatasetPicker } from './dataset-picker.tsx'
import { OTHER_DATASET, preferredDataset } from './datasets.ts'
import { DEFAULT_FORM, type ExperimentFormValues, type SpecIssue, specBody, specIssues } from './experiment-form.ts'
import { Failure } from './parts.tsx'

/** Experiments: the form that starts one and the list (one experiment is {@link ExperimentView}). */
export function ExperimentsPage() {
  const [experiments, setExperiments] = useState<ExperimentSummary[] | undefined>(undefined)
  const [failure, setFailure] = useState<ApiFailure | undefined>(undefined)
  useEffect(() => {
    api('/v1/experiments', { parse: (b) => ExperimentListResponse.parse(b) })
      .then((answer) => setExperiments(answer.experiments))
      .catch((f: ApiFailure) => setFailure(f))
  }, [])
  return (
    <section aria-labelledby="experiments-title">
      <h1 id="experiments-title">Experiments</h1>
      <ExperimentForm />
      <h2>Recent experiments</h2>
      {failure && <Failure failure={failure} />}
      {experiments?.length === 0 && <p class="note">None yet.</p>}
      {experiments && experiments.length > 0 && (
        <div class="table-scroll">
          <table class="experiments">
            <thead>
              <tr>
                <th scope="col">experiment</th>
                <th scope="col">protocol</th>
                <th scope="col">state</th>
                <th scope="col">runs ended</th>
                <th scope="col">models</th>
                <th scope="col">created</th>
              </tr>
            </thead>
            <tbody>
              {experiments.map((e) => {
                const total = e.runs.queued + e.runs.running + e.runs.succeeded + e.runs.failed + e.runs.cancelled
                const ended = e.runs.succeeded + e.runs.failed + e.runs.cancelled
                return (
                  <tr>
                    <th scope="row">
                      <a href={`#/experiments/${encodeURIComponent(e.id)}`}>{e.name ?? e.id}</a>
                    </th>
                    <td>{e.protocol}</td>
                    <td>
                      <span class={`state ${e.state}`}>{e.state}</span>
                    </td>
                    <td>
                      <progress max={total || 1} value={ended} aria-label={`${ended} of ${total} runs ended`} /> {ended}/{total}
                    </td>
                    <td>{e.models.join(', ')}</td>
                    <td>{new Date(e.createdAt).toLocaleString()}</td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

const FIELDS: Array<{ name: keyof ExperimentFormValues; label: string; hint?: string; type?: string }> = [
  { name: 'name', label: 'Name (optional)' },
  { name: 'models', label: 'Models', hint: 'zoo names, comma-separated, e.g. npr-tiny' },
  { name: 'dataRoot', label: 'Dataset root', hint: 'absolute path as the runners see it: <root>/<generator>/{train,val}/{ai,nature}' },
  { name: 'generators', label: 'Generators', hint: 'folder names under the root, comma-separated, in table order' },
  { name: 'trainOn', label: 'Train on (table3/table5, optional)', hint: 'default: SD V1.4 when present' },
  { name: 'epochs', label: 'Epochs', type: 'number' },
  { name: 'batchSize', label: 'Batch size', type: 'number' },
  { name: 'seeds', label: 'Seeds', hint: 'comma-separated' },
  { name: 'limitPerClass', label: 'Train images per generator and class (optional cap)', type: 'number' },
  { name: 'testLimitPerClass', label: 'Test images per generator and class (optional cap)', type: 'number' },
]

/** How often the dataset listing is read again while a dataset is still being built. */
const BUILDING_POLL_MS = 2000

/**
 * The datasets the stack lists (`GET /v1/datasets`), read again every 2 s while one is building; `datasets` stays
 * undefined where the edge lists none (no DATASET_DIRS, or an edge without a filesystem) and the form asks for a path.
 */
function useDatasets(): { datasets: DatasetSummary[] | undefined } {
  const [datasets, setDatasets] = useState<DatasetSummary[] | undefined>(undefined)
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined
    let stopped = false
    const read = () =>
      api('/v1/datasets', { parse: (b) => DatasetListResponse.parse(b) })
        .then((answer) => {
          if (stopped) return
          setDatasets(answer.datasets.length ? answer.datasets : undefined)
          if (answer.datasets.some((d) => d.state === 'building')) timer = setTimeout(read, BUILDING_POLL_MS)
        })
        .catch(() => {})
    void read()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [])
  return { datasets }
}

/** Starts table3/table4/table5: checked with the API's own contract first, then sent; the API's refusal is shown the same way. */
function ExperimentForm() {
  const [values, setValues] = useState<ExperimentFormValues>(DEFAULT_FORM)
  const [issues, setIssues] = useState<SpecIssue[]>([])
  const [failure, setFailure] = useState<ApiFailure | undefined>(undefined)
  const [sending, setSending] = useState(false)
  const listing = useDatasets()
  const [picked, setPicked] = useState<string | undefined>(undefined)
  const set = (name: keyof ExperimentFormValues) => (e: Event) => setValues({ ...values, [name]: (e.target as HTMLInputElement).value })
  const pick = (value: string, by: 'user' | 'default') => {
    const dataset = listing.datasets?.find((d) => d.dataRoot === value)
    setPicked(by === 'user' ? value : undefined)
    setValues((v) => (dataset ? { ...v, dataRoot: dataset.dataRoot, generators: dataset.generators.map((g) => g.name).join(', ') } : v))
  }
  // Until the user picks, the form follows the listing: the tiny GenImage-mini (or the first ready one) once it is ready.
  const preferred = listing.datasets && preferredDataset(listing.datasets)
  useEffect(() => {
    if (picked === undefined && preferred && values.dataRoot !== preferred.dataRoot) pick(preferred.dataRoot, 'default')
  }, [preferred?.dataRoot, picked])
  const selected = picked ?? (preferred ? preferred.dataRoot : OTHER_DATASET)
  const typed = !listing.datasets || selected === OTHER_DATASET
  const submit = async (event: Event) => {
    event.preventDefault()
    setFailure(undefined)
    const body = specBody(values)
    const found = specIssues(body)
    setIssues(found)
    if (found.length) return
    setSending(true)
    try {
      const created = await api('/v1/experiments', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        parse: (b) => CreateExperimentResponse.parse(b),
      })
      location.hash = `#/experiments/${encodeURIComponent(created.id)}`
    } catch (error) {
      const f = error instanceof ApiFailure ? error : new ApiFailure(0, 'network_error', String(error))
      const apiIssues = (f.details?.issues as SpecIssue[] | undefined) ?? (f.details?.field ? [{ field: String(f.details.field), message: f.message }] : [])
      setIssues(apiIssues)
      setFailure(f)
    } finally {
      setSending(false)
    }
  }
  const issueFor = (name: string) => issues.filter((i) => i.field === name || i.field.startsWith(`${name}.`))
  return (
    <form class="experiment-form" onSubmit={submit} noValidate aria-labelledby="new-experiment">
      <h2 id="new-experiment">Start an experiment</h2>
      <div class="field">
        <label for="exp-protocol">Protocol</label>
        <select id="exp-protocol" value={values.protocol} onChange={set('protocol')}>
          <option value="table3">Table 3: train on one generator, test on all</option>
          <option value="table4">Table 4: one model per generator, cross-generator heatmap</option>
          <option value="table5">Table 5: degraded test images</option>
        </select>
      </div>
      {listing.datasets && (
        <DatasetPicker
          datasets={listing.datasets}
          value={selected}
          generators={values.generators.split(',').map((g) => g.trim())}
          onPick={(value) => {
            pick(value, 'user')
            if (value === OTHER_DATASET) setValues((v) => ({ ...v, dataRoot: '', generators: '' }))
          }}
          onGenerators={(names) => setValues((v) => ({ ...v, generators: names.join(', ') }))}
          problems={[...issueFor('dataRoot'), ...issueFor('generators')].map((p) => `${p.field}: ${p.message}`).join('; ')}
        />
      )}
      {FIELDS.filter((f) => typed || (f.name !== 'dataRoot' && f.name !== 'generators')).map((f) => {
        const problems = issueFor(f.name)
        return (
          <div class="field">
            <label for={`exp-${f.name}`}>{f.label}</label>
            <input
              id={`exp-${f.name}`}
              name={f.name}
              type={f.type ?? 'text'}
              value={values[f.name]}
              onInput={(e: Event) => {
                if (f.name === 'dataRoot') setPicked(OTHER_DATASET)
                set(f.name)(e)
              }}
              aria-invalid={problems.length ? 'true' : undefined}
              aria-describedby={`exp-${f.name}-help`}
            />
            <span id={`exp-${f.name}-help`} class={problems.length ? 'error' : 'note'}>
              {problems.length ? problems.map((p) => `${p.field}: ${p.message}`).join('; ') : (f.hint ?? '')}
            </span>
          </div>
        )
      })}
      {issues.length > 0 && (
        <div class="failure" role="alert">
          <p>
            <strong>{failure ? `${failure.status} · ${failure.code}` : 'invalid_request'}</strong> — the spec is not valid:
          </p>
          <ul>
            {issues.map((i) => (
              <li>
                <code>{i.field || 'body'}</code>: {i.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {failure && issues.length === 0 && <Failure failure={failure} />}
      <button type="submit" disabled={sending}>
        Start
      </button>
    </form>
  )
}
