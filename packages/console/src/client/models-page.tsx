import { type ModelDetail, ModelDetail as ModelDetailSchema, type ModelSummary, ModelsResponse } from '@genimage/shared'
import { useEffect, useState } from 'hono/jsx/dom'
import { type ApiFailure, api } from './api.ts'
import { Failure, isGenImageMini, MiniWarning } from './parts.tsx'

const pct = (x: number) => `${(100 * x).toFixed(1)}%`

/** Models: each served model's card: architecture, training data, metrics per generator, how to reproduce it, runners. */
export function ModelsPage() {
  const [models, setModels] = useState<Array<ModelSummary & Partial<ModelDetail>> | undefined>(undefined)
  const [hint, setHint] = useState<string | undefined>(undefined)
  const [failure, setFailure] = useState<ApiFailure | undefined>(undefined)
  useEffect(() => {
    ;(async () => {
      const list = await api('/v1/models', { parse: (b) => ModelsResponse.parse(b) })
      setHint(list.hint)
      // The list carries summaries; each card comes from GET /v1/models/{name} (a runner may send none).
      const detailed = await Promise.all(
        list.models.map((m) =>
          api(m.docs ?? `/v1/models/${encodeURIComponent(m.name)}`, { parse: (b) => ModelDetailSchema.parse(b) }).catch(
            () => m as ModelSummary & Partial<ModelDetail>,
          ),
        ),
      )
      setModels(detailed)
    })().catch((f: ApiFailure) => setFailure(f))
  }, [])
  return (
    <section aria-labelledby="models-title">
      <h1 id="models-title">Served models</h1>
      {failure && <Failure failure={failure} />}
      {!models && !failure && <p class="note">Loading…</p>}
      {models?.length === 0 && <p class="note">{hint ?? 'No model is served.'}</p>}
      <div class="cards">
        {models?.map((m) => (
          <ModelCardView model={m} />
        ))}
      </div>
    </section>
  )
}

function ModelCardView(props: { model: ModelSummary & Partial<ModelDetail> }) {
  const m = props.model
  const card = m.card ?? undefined
  const trainedOn = card?.trainedOn ?? card?.provenance.trainingData
  return (
    <article class="card model-card" aria-labelledby={`model-${m.name}`}>
      <h2 id={`model-${m.name}`}>
        {m.name} <span class="note">v{m.version}</span>
      </h2>
      {m.description && <p>{m.description}</p>}
      <dl class="facts">
        <dt>Architecture</dt>
        <dd>
          {m.architecture} · {m.task} · input {m.input.width}×{m.input.height} · labels {m.labels.join(', ')}
        </dd>
        <dt>Trained on</dt>
        <dd>{trainedOn ?? 'not stated by its card'}</dd>
        <dt>Provenance</dt>
        <dd>
          {m.provenance}
          {card?.provenance.createdAt ? ` · ${card.provenance.createdAt}` : ''}
        </dd>
        {card?.calibration && (
          <>
            <dt>Calibration</dt>
            <dd>fitted (threshold {card.calibration.threshold?.toFixed(3) ?? '—'})</dd>
          </>
        )}
        <dt>Served by</dt>
        <dd>
          <ul class="plain">
            {m.served_by.map((s) => (
              <li>
                {s.runner} · {s.provider ?? 'provider not reported'}
                {s.adapter ? ` (${s.adapter})` : ''}
              </li>
            ))}
          </ul>
        </dd>
      </dl>
      {isGenImageMini(trainedOn) && <MiniWarning />}
      <Metrics model={m} />
      {card?.provenance.command && (
        <>
          <h3>Reproduce</h3>
          <pre>
            <code>{card.provenance.command}</code>
          </pre>
        </>
      )}
    </article>
  )
}

/** Measured accuracy per dataset and split, with one column per generator where the card has them. */
function Metrics(props: { model: ModelSummary & Partial<ModelDetail> }) {
  const rows = props.model.card?.metrics ?? props.model.metrics.map((m) => ({ ...m, count: undefined, perGenerator: undefined }))
  if (!rows.length) return <p class="note">No accuracy was measured for this model.</p>
  const generators = [...new Set(rows.flatMap((r) => Object.keys(r.perGenerator ?? {})))]
  return (
    <div class="table-scroll">
      <table>
        <caption>Measured accuracy</caption>
        <thead>
          <tr>
            <th scope="col">dataset · split</th>
            <th scope="col" class="num">
              all
            </th>
            {generators.map((g) => (
              <th scope="col" class="num">
                {g}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              <th scope="row">
                {r.dataset} · {r.split}
                {r.count !== undefined ? ` (n=${r.count})` : ''}
              </th>
              <td class="num">{pct(r.accuracy)}</td>
              {generators.map((g) => (
                <td class="num">{r.perGenerator?.[g] === undefined ? '–' : pct(r.perGenerator[g]!)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
