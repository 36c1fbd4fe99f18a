import {
  type Calibration,
  type ModelCard,
  type ModelMetadata,
  type OutOfDistribution,
  type TrainingProfile,
  temperatureScaledAiProbability,
  type ValueRange,
} from '@genimage/shared'

/** The one line an answer gives about the training data, from the card (or a plain admission that it is unknown). */
export function trainingDataLine(card: ModelCard | undefined): string {
  if (card?.trainedOn) return card.trainedOn
  if (card?.provenance.trainingData) return `${card.provenance.trainingData} (the card does not say what it was not trained on)`
  return 'not recorded in the model card: treat this model as untested on your images'
}

/** The calibrated ai probability (temperature scaling, the one rule in `@genimage/shared`); 1 when the model has no `nature` label. */
export function calibratedAiProbability(probabilities: readonly number[], labels: readonly string[], calibration: Calibration): number {
  const natureIndex = labels.indexOf('nature')
  return natureIndex < 0 ? 1 : temperatureScaledAiProbability(probabilities, natureIndex, calibration.temperature)
}

/** What the checks know about one image: its stored size (from the header) and the runner's colour statistics. */
export interface ImageEvidence {
  width?: number
  height?: number
  /** R, G, B means then stds of the pixels the model looked at; undefined when the runner does not report them. */
  statistics?: readonly number[]
  /** The uncalibrated ai probability. */
  score: number
}

/** Compares an image with the card's training profile; every check that cannot run says `unknown`, with the reason. */
export function outOfDistribution(profile: TrainingProfile | undefined, image: ImageEvidence): OutOfDistribution {
  if (!profile) {
    return {
      flagged: false,
      checks: { size: 'unknown', colour: 'unknown', score: 'unknown' },
      reasons: ['the model card records no training profile, so nothing can be said about whether this image resembles the training data'],
    }
  }
  const reasons: string[] = []
  const size = checkSize(profile, image, reasons)
  const colour = checkColour(profile, image.statistics, reasons)
  let score: OutOfDistribution['checks']['score'] = 'unknown'
  if (!profile.score) reasons.push('score: the card records no training score range')
  else if (inside(image.score, profile.score)) score = 'inside'
  else {
    score = 'outside'
    reasons.push(`score: ${fmt(image.score)} is outside ${range(profile.score)}, the range on the training images`)
  }
  return { flagged: size === 'outside' || colour === 'outside' || score === 'outside', checks: { size, colour, score }, reasons }
}

function checkSize(profile: TrainingProfile, image: ImageEvidence, reasons: string[]): OutOfDistribution['checks']['size'] {
  if (image.width === undefined || image.height === undefined) {
    reasons.push('size: the image header does not state its size')
    return 'unknown'
  }
  if (inside(image.width, profile.width) && inside(image.height, profile.height)) return 'inside'
  const seen = `${span(profile.width)}×${span(profile.height)}`
  reasons.push(`size: ${image.width}×${image.height} px is outside the training images' ${seen} px`)
  return 'outside'
}

const CHANNELS = ['R', 'G', 'B'] as const

function checkColour(profile: TrainingProfile, statistics: readonly number[] | undefined, reasons: string[]): OutOfDistribution['checks']['colour'] {
  if (statistics?.length !== 6) {
    reasons.push('colour: the runner did not report colour statistics')
    return 'unknown'
  }
  const outside: string[] = []
  for (const [c, channel] of CHANNELS.entries()) {
    const mean = statistics[c] as number
    const std = statistics[c + 3] as number
    const meanRange = profile.channelMean[c] as ValueRange
    const stdRange = profile.channelStd[c] as ValueRange
    if (!inside(mean, meanRange)) outside.push(`${channel} mean ${fmt(mean)} outside ${range(meanRange)}`)
    if (!inside(std, stdRange)) outside.push(`${channel} std ${fmt(std)} outside ${range(stdRange)}`)
  }
  if (outside.length === 0) return 'inside'
  reasons.push(`colour: ${outside.join('; ')} (training images, pixels in [0, 1])`)
  return 'outside'
}

/** Which model answers a request that names none, or why none can be chosen without guessing. */
export type DefaultModelChoice = { ok: true; name: string } | { ok: false; code: 'default_model_ambiguous' | 'model_not_found'; message: string }

/**
 * The default model, explicitly: DEFAULT_MODEL when configured; else the one served card with `default: true`; else
 * the only model served. Several claimants, or several models and no claimant, is an error rather than a guess, so
 * adding a model never changes the default silently.
 */
export function chooseDefaultModel(served: readonly ModelMetadata[], configured: string | undefined): DefaultModelChoice {
  if (configured) return { ok: true, name: configured }
  const names = served.map((m) => m.name).sort()
  const claimants = served.filter((m) => m.card?.default === true).map((m) => m.name)
  const fix = 'name one with the `model` form field, or set DEFAULT_MODEL on the edge'
  if (claimants.length === 1) return { ok: true, name: claimants[0] as string }
  if (claimants.length > 1) {
    return { ok: false, code: 'default_model_ambiguous', message: `several model cards claim default (${claimants.sort().join(', ')}); ${fix}` }
  }
  if (names.length === 1) return { ok: true, name: names[0] as string }
  if (names.length === 0) return { ok: false, code: 'model_not_found', message: 'no runner serves any model' }
  return { ok: false, code: 'default_model_ambiguous', message: `no default model among ${names.join(', ')}; ${fix}` }
}

/** The verdict threshold and where it came from: the operator's DETECT_THRESHOLD, the card's calibration, or 0.5. */
export function verdictThreshold(
  configured: number | undefined,
  calibration: Calibration | undefined,
): { threshold: number; source: 'config' | 'calibration' | 'default' } {
  if (configured !== undefined) return { threshold: configured, source: 'config' }
  if (calibration) return { threshold: calibration.threshold, source: 'calibration' }
  return { threshold: 0.5, source: 'default' }
}

function inside(value: number, [min, max]: ValueRange): boolean {
  return value >= min && value <= max
}

function range([min, max]: ValueRange): string {
  return `[${fmt(min)}, ${fmt(max)}]`
}

function span([min, max]: ValueRange): string {
  return min === max ? fmt(min) : `${fmt(min)}–${fmt(max)}`
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(3)
}
