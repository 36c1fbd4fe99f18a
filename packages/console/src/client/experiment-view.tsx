import { CancelExperimentResponse, ExperimentDetail, ExperimentProgressEvent, readServerSentEvents } from '@genimage/shared'
import { buildExperimentReport, experimentReportBodyHtml } from '@genimage/shared/charts'
import { useEffect, useMemo, useState } from 'hono/jsx/dom'
import { type ApiFailure, api, authHeaders, failureOf } from './api.ts'
import { experimentPercent } from './experiment-form.ts'
import { Failure } from './parts.tsx'

type Runs = ExperimentProgressEvent['runs']
const FINAL = ['succeeded', 'failed', 'cancelled']

/** One experiment: live progress over `GET /v1/experiments/:id/events`, cancel, and the report once it has results. */
export function ExperimentView(props: { id: string }) {
  const [detail, setDetail] = useState<ExperimentDetail | undefined>(undefined)
  const [live, setLive] = useState<{ state: string; runs: Runs } | undefined>(undefined)
  const [failure, setFailure] = useState<ApiFailure | undefined>(undefined)
  const [streamNote, setStreamNote] = useState<string | undefined>(undefined)
  const path = `/v1/experiments/${encodeURIComponent(props.id)}`

  const load = () =>
    api(path, { parse: (b) => ExperimentDetail.parse(b) })
      .then(setDetail)
      .catch((f: ApiFailure) => setFailure(f))

  useEffect(() => {
    const abort = new AbortController()
    void load()
    ;(async () => {
      const response = await fetch(`${path}/events`, { headers: { ...authHeaders(), accept: 'text/event-stream' }, signal: abort.signal })
      if (!response.ok || !response.body) throw await failureOf(response)
      setStreamNote(undefined)
      for await (const message of readServerSentEvents(response.body)) {
        if (message.event === 'progress') {
          const event = ExperimentProgressEvent.parse(JSON.parse(message.data))
          setLive({ state: event.state, runs: event.runs })
        } else if (message.event === 'end') {
          await load()
          break
        }
      }
    })().catch((error: unknown) => {
      if (!abort.signal.aborted) setStreamNote(`Live progress stopped: ${(error as Error).message}. Reload to follow it again.`)
    })
    return () => abort.abort()
  }, [props.id])

  const cancel = async () => {
    try {
      await api(`${path}/cancel`, { method: 'POST', parse: (b) => CancelExperimentResponse.parse(b) })
      await load()
    } catch (error) {
      setFailure(error as ApiFailure)
    }
  }

  const runs = live?.runs ?? detail?.runDetails
  const state = live?.state ?? detail?.state
  const percent = runs ? experimentPercent(runs) : 0
  const report = useMemo(() => {
    if (!detail?.runDetails.some((r) => r.metrics.length || r.history.length)) return undefined
    const built = buildExperimentReport(detail)
    return experimentReportBodyHtml(built.markdown, built.files)
  }, [detail])

  return (
    <section aria-labelledby="experiment-title">
      <p>
        <a href="#/experiments">← All experiments</a>
      </p>
      <h1 id="experiment-title">
        {detail?.name ?? props.id} <span class="note">{detail?.spec.protocol}</span>
      </h1>
      {failure && <Failure failure={failure} />}
      <div class="progress-line">
        <label for="experiment-progress">
          Progress: <strong data-testid="percent">{percent}%</strong> · state <span class={`state ${state ?? ''}`}>{state ?? '…'}</span>
        </label>
        <progress id="experiment-progress" max={100} value={percent} />
        {state && !FINAL.includes(state) && (
          <button type="button" onClick={cancel}>
            Cancel experiment
          </button>
        )}
      </div>
      {streamNote && <p class="note">{streamNote}</p>}
      {runs && (
        <div class="table-scroll">
          <table class="runs">
            <caption>Runs</caption>
            <thead>
              <tr>
                <th scope="col">run</th>
                <th scope="col">model</th>
                <th scope="col">trained on</th>
                <th scope="col">seed</th>
                <th scope="col">state</th>
                <th scope="col">phase</th>
                <th scope="col" class="num">
                  step
                </th>
                <th scope="col" class="num">
                  loss
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr>
                  <td>{r.index}</td>
                  <td>{r.model}</td>
                  <td>{r.trainOn.join('+')}</td>
                  <td>{r.seed}</td>
                  <td>
                    <span class={`state ${r.state}`}>{r.state}</span>
                    {r.failureReason ? ` — ${r.failureReason}` : ''}
                  </td>
                  <td>{r.progress.phase}</td>
                  <td class="num">
                    {r.progress.step}/{r.progress.totalSteps}
                  </td>
                  <td class="num">{r.progress.loss === null ? '–' : r.progress.loss.toFixed(3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {report ? (
        <article class="report" aria-label="Experiment report" dangerouslySetInnerHTML={{ __html: report }} />
      ) : (
        <p class="note">The report (tables beside the paper's numbers, heatmap, bars and training curves) appears here once runs have results.</p>
      )}
    </section>
  )
}
