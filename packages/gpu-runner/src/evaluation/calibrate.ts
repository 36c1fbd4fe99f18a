import { temperatureScaledAiProbability } from '@genimage/shared'

/** One image the calibration is fitted on: the model's probability row (card labels) and whether it is generated. */
export interface CalibrationSample {
  row: ArrayLike<number>
  fake: boolean
}

/** The calibrated ai probability of every sample at `temperature` (the formula the edge answers with). */
export function calibratedScores(samples: readonly CalibrationSample[], natureIndex: number, temperature: number): number[] {
  return samples.map((s) => temperatureScaledAiProbability(s.row, natureIndex, temperature))
}

/**
 * Mean negative log-likelihood of the real/generated truth under the calibrated ai probability, each class weighing
 * one half (so 190 photo encodings and 200 generated images pull equally). Probabilities are clipped to [1e-7, 1 − 1e-7].
 */
export function calibrationNll(samples: readonly CalibrationSample[], natureIndex: number, temperature: number): number {
  const totals = { fake: 0, real: 0 }
  const counts = { fake: 0, real: 0 }
  for (const sample of samples) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, temperatureScaledAiProbability(sample.row, natureIndex, temperature)))
    const key = sample.fake ? 'fake' : 'real'
    totals[key] -= Math.log(sample.fake ? p : 1 - p)
    counts[key] += 1
  }
  const classes = (['fake', 'real'] as const).filter((k) => counts[k] > 0)
  if (classes.length === 0) throw new RangeError('no samples to fit a temperature on')
  return classes.reduce((sum, k) => sum + totals[k] / counts[k], 0) / classes.length
}

/** A fitted temperature and the NLL it reaches, beside the NLL of the uncalibrated model (temperature 1). */
export interface TemperatureFit {
  temperature: number
  nll: number
  nllAtOne: number
}

/**
 * Fits the temperature that minimises {@link calibrationNll}: a grid of 241 temperatures spaced evenly in log from
 * `min` to `max`, then golden-section refinement between the best grid point's neighbours. Needs both classes: on
 * real images alone the NLL only falls as the model grows more certain, so there is nothing to fit.
 */
export function fitTemperature(samples: readonly CalibrationSample[], natureIndex: number, { min = 0.02, max = 50 } = {}): TemperatureFit {
  if (!samples.some((s) => s.fake) || !samples.some((s) => !s.fake)) throw new RangeError('fitting a temperature needs real and generated images')
  const nll = (logT: number) => calibrationNll(samples, natureIndex, Math.exp(logT))
  const steps = 240
  const [lo, hi] = [Math.log(min), Math.log(max)]
  const grid = Array.from({ length: steps + 1 }, (_, i) => lo + ((hi - lo) * i) / steps)
  const values = grid.map(nll)
  const best = values.indexOf(Math.min(...values))
  let a = grid[Math.max(0, best - 1)] as number
  let b = grid[Math.min(steps, best + 1)] as number
  const ratio = (Math.sqrt(5) - 1) / 2
  let c = b - ratio * (b - a)
  let d = a + ratio * (b - a)
  let fc = nll(c)
  let fd = nll(d)
  for (let i = 0; i < 40; i++) {
    if (fc < fd) {
      ;[b, d, fd] = [d, c, fc]
      c = b - ratio * (b - a)
      fc = nll(c)
    } else {
      ;[a, c, fc] = [c, d, fd]
      d = a + ratio * (b - a)
      fd = nll(d)
    }
  }
  const candidates = [
    { logT: (a + b) / 2, value: nll((a + b) / 2) },
    { logT: grid[best] as number, value: values[best] as number },
  ]
  const chosen = candidates.reduce((x, y) => (y.value < x.value ? y : x))
  return { temperature: Math.exp(chosen.logT), nll: chosen.value, nllAtOne: nll(0) }
}

/** The threshold chosen on the calibration photos and what it does there. */
export interface ThresholdChoice {
  threshold: number
  /** False positives each encoding may have: ⌊target × count⌋. */
  allowed: Record<string, number>
  /** False positives at `threshold` on the calibration photos, per encoding (verdict `ai` at score ≥ threshold). */
  falsePositives: Record<string, number>
  /** Whether every encoding stays within its allowance (false only when a real photo scores 1, which no threshold can pass). */
  met: boolean
}

/**
 * The lowest threshold on the calibrated probability at which the false-positive rate of the calibration photos is
 * at most `targetFpr` in every encoding (verdict `ai` at score ≥ threshold): above the (k+1)-th highest photo score of
 * each encoding, k = ⌊target × count⌋. It is placed halfway to the next higher score of any calibration image (photo
 * or generated), or halfway to 1, so that it does not sit on a measured score. Lowest, because every generated image
 * above it is caught: the threshold costs generated-side accuracy only as far as the photos demand.
 */
export function chooseThreshold(realByEncoding: Record<string, readonly number[]>, generated: readonly number[], targetFpr: number): ThresholdChoice {
  if (!(targetFpr >= 0 && targetFpr < 1)) throw new RangeError('the target false-positive rate must be in [0, 1)')
  const allowed: Record<string, number> = {}
  let bound = Number.NEGATIVE_INFINITY
  for (const [encoding, scores] of Object.entries(realByEncoding)) {
    if (scores.length === 0) throw new RangeError(`no calibration photo scores for encoding ${encoding}`)
    const k = Math.floor(targetFpr * scores.length + 1e-9)
    allowed[encoding] = k
    const descending = [...scores].sort((x, y) => y - x)
    if (k < descending.length) bound = Math.max(bound, descending[k] as number)
  }
  const everyScore = [...Object.values(realByEncoding).flat(), ...generated]
  const above = everyScore.filter((s) => s > bound)
  let threshold: number
  if (bound === Number.NEGATIVE_INFINITY) threshold = 0.5
  else if (bound >= 1) threshold = 1
  else threshold = (bound + (above.length > 0 ? Math.min(...above) : 1)) / 2
  const falsePositives = Object.fromEntries(Object.entries(realByEncoding).map(([e, scores]) => [e, scores.filter((s) => s >= threshold).length]))
  const met = Object.entries(falsePositives).every(([e, count]) => count <= (allowed[e] as number))
  return { threshold, allowed, falsePositives, met }
}

/**
 * The Wilson score upper bound of a binomial rate at 95% (z = 1.96): with `count` photos and `positives` of them
 * flagged, the rate is below it with 95% confidence. 1 for an empty sample.
 */
export function wilsonUpper95(positives: number, count: number): number {
  if (count === 0) return 1
  const z = 1.959964
  const p = positives / count
  const z2n = (z * z) / count
  const centre = p + z2n / 2
  const spread = z * Math.sqrt((p * (1 - p)) / count + z2n / (4 * count))
  return Math.min(1, (centre + spread) / (1 + z2n))
}
