/**
 * Measures what a detector's card must say about GenImage-mini and writes it into the card: accuracy per generator
 * at the threshold the edge answers with (the calibrated one when the card has a calibration), the same under each
 * of GenImage Table 5's degradations, and for an attribution model the confusion matrix of its labels and the
 * share of generated images attributed to the right generator. Every image of the val split of every generator in
 * the data root is scored as the runner serves the folder (`openImageScorer`). Run it after `genimage models
 * calibrate --write`: a later calibration moves the threshold these numbers were measured at.
 *
 *   npx tsx bench/detector-card.ts --model models/npr-tiny-mini-attribution --data data/genimage-mini [--write]
 *     [--default true|false] [--trained-on "<one line>"]
 *
 * `--default` sets the card's `default` flag (the model that answers requests naming none); `--trained-on` replaces
 * the one line every detect answer repeats about the training data.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { type ConfusionMatrix, type MeasuredAccuracy, ModelCard, temperatureScaledAiProbability } from '@genimage/shared'
import { DEFAULT_DEGRADATION_PARAMETERS, describeDegradation, TABLE5_DEGRADATIONS } from '@genimage/shared/genimage'
import { openImageScorer, testImageDegrader } from '@genimage/gpu-runner/evaluation'
import { type LabelledImage, listGenerators, loadSplit } from '@genimage/training/train'

/** Every metric this script writes has a split starting with this, so a re-run replaces them. */
export const DETECTOR_CARD_SPLIT = 'val, nature and ai of each generator, as served'
const DATASET = 'GenImage-mini (not GenImage)'

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    data: { type: 'string' },
    write: { type: 'boolean', default: false },
    default: { type: 'string' },
    'trained-on': { type: 'string' },
  },
})
if (!args.model || !args.data) {
  console.error('usage: npx tsx bench/detector-card.ts --model <folder> --data <GenImage-mini root> [--write]')
  process.exit(2)
}
const modelDir = resolve(args.model)
const dataRoot = resolve(args.data)
const cardFile = join(modelDir, 'card.json')
const raw = JSON.parse(await readFile(cardFile, 'utf8')) as Record<string, unknown>
const card = ModelCard.parse(raw)
const generators = await listGenerators(dataRoot)
const images: LabelledImage[] = await loadSplit({ root: dataRoot, split: 'val', generators, task: 'binary', headGenerators: [] })
const threshold = card.calibration?.threshold ?? 0.5
const verdictAt = card.calibration ? `calibrated probability ≥ ${threshold.toFixed(4)}` : 'uncalibrated probability ≥ 0.5'
const scorer = await openImageScorer(modelDir, { batchSize: 32 })
const aiProbability = (row: Float32Array) =>
  card.calibration ? temperatureScaledAiProbability(row, scorer.natureIndex, card.calibration.temperature) : 1 - (row[scorer.natureIndex] as number)

/** One probability row per image, after the degradation. */
async function scoreAll(degradation: string): Promise<Float32Array[]> {
  const degrade = testImageDegrader(degradation, DEFAULT_DEGRADATION_PARAMETERS)
  const rows: Float32Array[] = []
  for (let start = 0; start < images.length; start += 64) {
    const chunk = images.slice(start, start + 64)
    const bytes = await Promise.all(chunk.map(async (image) => degrade(new Uint8Array(await readFile(image.path)), image.kind)))
    rows.push(...(await scorer.score(bytes)))
  }
  return rows
}

function accuracyOf(rows: readonly Float32Array[], degradation: string): MeasuredAccuracy {
  const tally = new Map<string, [number, number]>()
  rows.forEach((row, i) => {
    const image = images[i]!
    const correct = aiProbability(row) >= threshold === (image.kind === 'ai') ? 1 : 0
    const [hits, total] = tally.get(image.generator) ?? [0, 0]
    tally.set(image.generator, [hits + correct, total + 1])
  })
  const hits = [...tally.values()].reduce((sum, [h]) => sum + h, 0)
  return {
    dataset: DATASET,
    split: `${DETECTOR_CARD_SPLIT}, ${describeDegradation(degradation)} (Table 5${degradation === 'none' ? ' baseline' : ''}); verdict at the ${verdictAt} (the served threshold)`,
    accuracy: hits / rows.length,
    count: rows.length,
    perGenerator: Object.fromEntries([...tally].map(([g, [h, t]]) => [g, h / t])),
    degradation,
  }
}

function attribution(rows: readonly Float32Array[]): { confusion: ConfusionMatrix; attributed: MeasuredAccuracy } {
  const labels = card.labels
  const counts = labels.map(() => labels.map(() => 0))
  const right = new Map<string, [number, number]>()
  rows.forEach((row, i) => {
    const image = images[i]!
    const truth = image.kind === 'nature' ? scorer.natureIndex : labels.indexOf(image.generator)
    if (truth < 0) return
    let predicted = 0
    for (let j = 1; j < row.length; j++) if ((row[j] as number) > (row[predicted] as number)) predicted = j
    counts[truth]![predicted]! += 1
    if (image.kind === 'ai') {
      const [h, t] = right.get(image.generator) ?? [0, 0]
      right.set(image.generator, [h + (predicted === truth ? 1 : 0), t + 1])
    }
  })
  const hits = [...right.values()].reduce((sum, [h]) => sum + h, 0)
  const total = [...right.values()].reduce((sum, [, t]) => sum + t, 0)
  return {
    confusion: {
      dataset: DATASET,
      split: 'val, nature and ai of each generator, as stored; rows: true label, columns: highest-probability label',
      labels,
      counts,
    },
    attributed: {
      dataset: DATASET,
      split: `${DETECTOR_CARD_SPLIT}, generated images only, attributed to the right generator (highest-probability label; no threshold)`,
      accuracy: hits / Math.max(1, total),
      count: total,
      perGenerator: Object.fromEntries([...right].map(([g, [h, t]]) => [g, h / t])),
    },
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`
const measured: MeasuredAccuracy[] = []
let confusion: ConfusionMatrix | undefined
try {
  for (const degradation of TABLE5_DEGRADATIONS) {
    const started = performance.now()
    const rows = await scoreAll(degradation)
    const metric = accuracyOf(rows, degradation)
    measured.push(metric)
    if (degradation === 'none' && card.task === 'attribution') {
      const result = attribution(rows)
      confusion = result.confusion
      measured.push(result.attributed)
      console.log(
        `attributed to the right generator: ${pct(result.attributed.accuracy)} [${Object.entries(result.attributed.perGenerator ?? {})
          .map(([g, a]) => `${g} ${pct(a)}`)
          .join(', ')}]`,
      )
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    console.log(
      `${describeDegradation(degradation).padEnd(12)} ${pct(metric.accuracy)} [${Object.entries(metric.perGenerator ?? {})
        .map(([g, a]) => `${g} ${pct(a)}`)
        .join(', ')}] (${seconds} s)`,
    )
  }
} finally {
  await scorer.close()
}
if (confusion) {
  console.log(`\nconfusion (rows true, columns predicted): ${confusion.labels.join(' | ')}`)
  for (const [i, row] of confusion.counts.entries()) console.log(`${confusion.labels[i]!.padEnd(14)} ${row.map((n) => String(n).padStart(4)).join(' ')}`)
}
if (args.write) {
  const earlier = Array.isArray(raw.metrics) ? (raw.metrics as { split?: unknown }[]) : []
  const metrics = [...earlier.filter((m) => !(typeof m.split === 'string' && m.split.startsWith(DETECTOR_CARD_SPLIT))), ...measured]
  const updated = {
    ...raw,
    metrics,
    ...(confusion ? { confusion } : {}),
    ...(args.default === undefined ? {} : { default: args.default === 'true' }),
    ...(args['trained-on'] === undefined ? {} : { trainedOn: args['trained-on'] }),
  }
  ModelCard.parse(updated)
  const temporary = `${cardFile}.${process.pid}.tmp`
  await writeFile(temporary, `${JSON.stringify(updated, null, 2)}\n`)
  await rename(temporary, cardFile)
  console.log(`\nwrote ${measured.length} metrics${confusion ? ' and the confusion matrix' : ''} into ${cardFile}`)
}
