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
      {image.generators && image.generators.length > 0 && (
        <table class="attribution">
          <caption>Most likely generator</caption>
          <tbody>
            {image.generators.map((g) => (
              <tr>
                <th scope="row">{g.name}</th>
                <td class="num">{pct(g.probability)}</td>
                <td class="bar-cell">
                  <Bar value={g.probability} label={`${g.name} ${pct(g.probability)}`} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="note">
        {answer.model.name} {answer.model.version} · trained on {answer.model.training_data} · {answer.timings.total_ms.toFixed(0)} ms
      </p>
      {isGenImageMini(answer.model.training_data) && <MiniWarning />}
      {image.out_of_distribution.flagged && <p class="warning">Outside what the model saw in training: {image.out_of_distribution.reasons.join(' ')}</p>}
    </div>
  )
}
