import { readFile } from 'node:fs/promises'
import {
  type Calibration,
  type EncodingFalsePositives,
  type InputConfig,
  type MeasuredAccuracy,
  type RealPhotoFalsePositives,
  temperatureScaledAiProbability,
} from '@genimage/shared'
import { listGenerators, loadSplit, TrainingDataError } from '@genimage/training/train'
import { type CalibrationSample, chooseThreshold, fitTemperature, type TemperatureFit, type ThresholdChoice } from './calibrate.ts'
import { aiProbabilityOf, type ImageScorer, openImageScorer } from './image-scorer.ts'
import { encodePhoto, encodingFalsePositives, generatedAccuracy, PHOTO_ENCODINGS, type PhotoEncoding } from './real-photo-fpr.ts'

/** Real photographs at full size, split into photos that fit the calibration and photos that only test it. */
export interface CalibrationPhotos {
  /** What and where they are, for the card, e.g. "68 real photographs from 10 Debian packages (photos-calibration.json)". */
  dataset: string
  calibration: readonly string[]
  test: readonly string[]
}

export interface CalibrateModelOptions {
  photos: CalibrationPhotos
  /** A GenImage-mini root: the val split of every generator in it is the generated side. Absent: temperature stays 1. */
  generatedRoot?: string
  /** Highest false-positive rate allowed on the calibration photos in every encoding (default 0.05). */
  targetFpr?: number
  providers?: readonly string[]
  /** One line per step, for a person watching (stderr in the CLI). */
  progress?: (line: string) => void
  signal?: AbortSignal
}

/** What a verdict rule does on the held-out data: test photos per encoding, the generated and real val halves. */
export interface OperatingPoint {
  threshold: number
  calibrated: boolean
  realPhotos: EncodingFalsePositives[]
  /** Generated val images caught, on the half no fit used; absent without a generated root. */
  generated?: { accuracy: number; count: number; perGenerator: Record<string, number> }
  /** GenImage-mini val nature crops answered `real`, on the same half. */
  natureCrops?: { accuracy: number; count: number }
}

export interface ModelCalibrationResult {
  model: { name: string; version: string }
  /** How the images reached the model (the runner's path for this card). */
  scoredAs: string
  targetFpr: number
  temperatureFit?: TemperatureFit
  calibration: Calibration
  /** The threshold's false positives on the calibration photos themselves. */
  thresholdChoice: ThresholdChoice
  /** Uncalibrated probability at 0.5, as the model answered before. */
  before: OperatingPoint
  after: OperatingPoint
  realPhotoFalsePositives: RealPhotoFalsePositives
  /**
   * Generated-side accuracy on the held-out val half for the card's metrics, at the calibrated threshold and, for the
   * record, at 0.5 uncalibrated; empty without a generated root. Each split names {@link CALIBRATION_METRIC_SPLIT}.
   */
  generatedMetrics: MeasuredAccuracy[]
}

/** How the split of every metric a calibration records begins (a new calibration replaces them). */
export const CALIBRATION_METRIC_SPLIT = 'val, generated images only, odd-numbered half (not used to fit)'

/** How the runner feeds images to a model with this input config, in words. */
export function describeScoring(input: InputConfig): string {
  const { evidence } = input
  if (evidence) {
    const budget = evidence.pixelBudget ? `, pixel budget ${evidence.pixelBudget}` : ''
    const rule = evidence.aggregate.rule === 'max' ? 'max' : `mean of top ${evidence.aggregate.k}`
    const scale = evidence.downscale === 'never' ? 'at native resolution' : `each resized to ${input.width}×${input.height}`
    return `centre + grid tiles of ${evidence.crop} px ${scale} (at most ${evidence.maxTiles}${budget}), aggregated by ${rule}`
  }
  if (input.resize === 'center-crop') return `one ${input.width}×${input.height} centre crop at native resolution`
  if (input.resize === 'stretch') return `the whole image resized to ${input.width}×${input.height}`
  return `the whole image resized (shorter side to ${Math.round(input.height / input.cropPct)} px) and centre-cropped to ${input.width}×${input.height}`
}

type PhotoRows = Record<PhotoEncoding, Float32Array[]>

async function scorePhotos(scorer: ImageScorer, files: readonly string[], split: string, options: CalibrateModelOptions): Promise<PhotoRows> {
  const rows = Object.fromEntries(PHOTO_ENCODINGS.map((e) => [e, [] as Float32Array[]])) as PhotoRows
  const chunk = 4
  for (let start = 0; start < files.length; start += chunk) {
    options.signal?.throwIfAborted()
    const originals = await Promise.all(files.slice(start, start + chunk).map((file) => readFile(file)))
    for (const encoding of PHOTO_ENCODINGS) {
      const encoded = await Promise.all(originals.map((bytes) => encodePhoto(bytes, encoding)))
      rows[encoding].push(...(await scorer.score(encoded)))
    }
    options.progress?.(`scored ${split} photos ${Math.min(files.length, start + chunk)}/${files.length} in ${PHOTO_ENCODINGS.length} encodings`)
  }
  return rows
}

interface GeneratedRow {
  generator: string
  fake: boolean
  row: Float32Array
  /** Even-numbered images of each generator and class fit; odd-numbered ones test. */
  fit: boolean
}

async function scoreGenerated(scorer: ImageScorer, root: string, options: CalibrateModelOptions): Promise<GeneratedRow[]> {
  const rows: GeneratedRow[] = []
  for (const generator of await listGenerators(root)) {
    const images = await loadSplit({ root, split: 'val', generators: [generator], task: 'binary', headGenerators: [] })
    for (const kind of ['ai', 'nature'] as const) {
      const own = images.filter((image) => image.kind === kind)
      for (let start = 0; start < own.length; start += 64) {
        options.signal?.throwIfAborted()
        const chunk = own.slice(start, start + 64)
        const scored = await scorer.score(await Promise.all(chunk.map((image) => readFile(image.path))))
        for (const [i, row] of scored.entries()) rows.push({ generator, fake: kind === 'ai', row, fit: (start + i) % 2 === 0 })
      }
    }
    options.progress?.(`scored ${generator} val: ${images.length} images`)
  }
  if (!rows.some((r) => r.fake))
    throw new TrainingDataError('empty_split', `no generated val images under ${root} (a GenImage-mini root holds <generator>/val/ai)`)
  return rows
}

function operatingPoint(
  photos: PhotoRows,
  generated: readonly GeneratedRow[],
  score: (row: Float32Array) => number,
  threshold: number,
  calibrated: boolean,
): OperatingPoint {
  const realPhotos = PHOTO_ENCODINGS.map((e) => encodingFalsePositives(e, photos[e].map(score), threshold))
  const heldOut = generated.filter((g) => !g.fit)
  const fakes = heldOut.filter((g) => g.fake).map((g) => ({ generator: g.generator, score: score(g.row) }))
  const natures = heldOut.filter((g) => !g.fake).map((g) => score(g.row))
  if (fakes.length === 0) return { threshold, calibrated, realPhotos }
  const natureCrops = { accuracy: natures.filter((s) => s < threshold).length / Math.max(1, natures.length), count: natures.length }
  return { threshold, calibrated, realPhotos, generated: generatedAccuracy(fakes, threshold), natureCrops }
}

/**
 * Calibrates a model folder on real photographs at full size: scores the calibration photos in every encoding
 * (as shipped, PNG, JPEG q75/q85/q95) and, with a GenImage-mini root, half of its generated val images, through the
 * runner's path for the card; fits a temperature (NLL) and the lowest threshold that keeps each encoding's false
 * positives within the target; then measures both the old rule (0.5, uncalibrated) and the new one on data no fit
 * used: the test photos in every encoding and the other half of the val images.
 */
export async function calibrateModelFolder(modelDir: string, options: CalibrateModelOptions): Promise<ModelCalibrationResult> {
  const targetFpr = options.targetFpr ?? 0.05
  if (options.photos.calibration.length === 0) throw new RangeError('no calibration photos')
  const scorer = await openImageScorer(modelDir, { providers: options.providers, batchSize: 16 })
  try {
    const { card } = scorer.model
    const nature = scorer.natureIndex
    const scoredAs = describeScoring(card.input)
    options.progress?.(`${card.name}@${card.version}: scoring ${scoredAs}`)
    const fitPhotos = await scorePhotos(scorer, options.photos.calibration, 'calibration', options)
    const testPhotos = await scorePhotos(scorer, options.photos.test, 'test', options)
    const generated = options.generatedRoot ? await scoreGenerated(scorer, options.generatedRoot, options) : []

    const fitGenerated = generated.filter((g) => g.fit && g.fake)
    const samples: CalibrationSample[] = [...PHOTO_ENCODINGS.flatMap((e) => fitPhotos[e].map((row) => ({ row, fake: false }))), ...fitGenerated]
    const temperatureFit = fitGenerated.length > 0 ? fitTemperature(samples, nature) : undefined
    const temperature = temperatureFit?.temperature ?? 1
    const calibratedScore = (row: Float32Array) => temperatureScaledAiProbability(row, nature, temperature)
    const thresholdChoice = chooseThreshold(
      Object.fromEntries(PHOTO_ENCODINGS.map((e) => [e, fitPhotos[e].map(calibratedScore)])),
      fitGenerated.map((g) => calibratedScore(g.row)),
      targetFpr,
    )
    const generators = [...new Set(generated.map((g) => g.generator))]
    const photoCount = options.photos.calibration.length
    const calibration: Calibration = {
      method: 'temperature',
      temperature,
      threshold: thresholdChoice.threshold,
      fittedOn: {
        dataset: `${options.photos.dataset}${generators.length > 0 ? `; GenImage-mini (not GenImage) val: ${generators.join(', ')}` : ''}`,
        split: `photos: calibration split (${photoCount})${generators.length > 0 ? '; GenImage-mini val: even-numbered half' : ''}`,
        count: photoCount * PHOTO_ENCODINGS.length + fitGenerated.length,
        notes:
          `${photoCount} full-size real photographs × ${PHOTO_ENCODINGS.length} encodings (as shipped, PNG, JPEG q75/q85/q95) and ` +
          `${fitGenerated.length} generated images, scored as ${scoredAs}. ` +
          (temperatureFit ? 'Temperature minimises the class-balanced NLL' : 'No generated images: temperature left at 1') +
          `; threshold: lowest with ≤ ${(targetFpr * 100).toFixed(1)}% false positives on the calibration photos in every encoding` +
          `${thresholdChoice.met ? '' : ' (NOT met: some photo scores 1)'}.`,
      },
    }
    const before = operatingPoint(testPhotos, generated, (row) => aiProbabilityOf(row, nature), 0.5, false)
    const after = operatingPoint(testPhotos, generated, calibratedScore, calibration.threshold, true)
    const realPhotoFalsePositives: RealPhotoFalsePositives = {
      dataset: options.photos.dataset,
      split: `test (${options.photos.test.length} photos, never used to fit)`,
      threshold: calibration.threshold,
      calibrated: true,
      encodings: after.realPhotos,
      uncalibrated: { threshold: before.threshold, encodings: before.realPhotos },
      notes: `Full-size photographs scored as ${scoredAs}; verdict ai at calibrated probability ≥ threshold. upper95: Wilson 95% upper bound.`,
    }
    const generatedMetric = (point: OperatingPoint, rule: string): MeasuredAccuracy[] =>
      point.generated ? [{ dataset: 'GenImage-mini (not GenImage)', split: `${CALIBRATION_METRIC_SPLIT}, ${rule}`, ...point.generated }] : []
    const generatedMetrics = [
      ...generatedMetric(after, `verdict at the calibrated threshold ${calibration.threshold.toFixed(4)} (as the edge answers)`),
      ...generatedMetric(before, 'verdict at 0.5 on the uncalibrated probability (before calibration)'),
    ]
    return {
      model: { name: card.name, version: card.version },
      scoredAs,
      targetFpr,
      ...(temperatureFit ? { temperatureFit } : {}),
      calibration,
      thresholdChoice,
      before,
      after,
      realPhotoFalsePositives,
      generatedMetrics,
    }
  } finally {
    await scorer.close()
  }
}
