import type { DetectResponse } from '@genimage/shared'
import { Bar, isGenImageMini, MiniWarning } from './parts.tsx'

const pct = (x: number) => `${(100 * x).toFixed(1)}%`

/** One scored image: the AI score against the threshold, the verdict, attribution, what the model was trained on. */
export function ScoreResult(props: { answer: DetectResponse }) {
  const { answer } = props
  const image = answer.images[0]!
  const score = image.calibrated_probability ?? image.ai_generated
  const ai = image.verdict === 'ai'
  return (
    <div class="score">
      <p class={`verdict ${ai ? 'ai' : 'real'}`}>
        <strong>{ai ? 'AI-generated' : 'Real'}</strong>
        <span class="note">
          {' '}
          · {image.calibrated ? 'calibrated probability' : 'AI score'} {pct(score)} vs threshold {pct(answer.threshold)} ({answer.threshold_source})
        </span>
      </p>
      <Bar value={score} marker={answer.threshold} tone={ai ? 'ai' : 'real'} label={`AI score ${pct(score)}, threshold ${pct(answer.threshold)}`} />
      {image.generators && image.generators.length > 0 && <Attribution generators={image.generators} />}
      <p class="note">
        {answer.model.name} {answer.model.version} · trained on {answer.model.training_data} · {answer.timings.total_ms.toFixed(0)} ms
      </p>
      {isGenImageMini(answer.model.training_data) && <MiniWarning />}
      {image.out_of_distribution.flagged && <p class="warning">Outside what the model saw in training: {image.out_of_distribution.reasons.join(' ')}</p>}
    </div>
  )
}

/** How many generators are shown at once; the detect page reserves their height, so answers never push the page. */
export const ATTRIBUTION_ROWS_SHOWN = 3

function AttributionRows(props: { generators: readonly { name: string; probability: number }[] }) {
  return (
    <tbody>
      {props.generators.map((g) => (
        <tr>
          <th scope="row">{g.name}</th>
          <td class="num">{pct(g.probability)}</td>
          <td class="bar-cell">
            <Bar value={g.probability} label={`${g.name} ${pct(g.probability)}`} />
          </td>
        </tr>
      ))}
    </tbody>
  )
}

/** The most likely generators as bars; the rest behind a disclosure (opened by the user, so it moves nothing unasked). */
function Attribution(props: { generators: readonly { name: string; probability: number }[] }) {
  const shown = props.generators.slice(0, ATTRIBUTION_ROWS_SHOWN)
  const rest = props.generators.slice(ATTRIBUTION_ROWS_SHOWN)
  return (
    <>
      <table class="attribution">
        <caption>Most likely generator</caption>
        <AttributionRows generators={shown} />
      </table>
      {rest.length > 0 && (
        <details class="attribution-rest">
          <summary>the other {rest.length} generators</summary>
          <table class="attribution">
            <AttributionRows generators={rest} />
          </table>
        </details>
      )}
    </>
  )
}
