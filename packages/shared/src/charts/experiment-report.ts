import type { ExperimentDetail, ExperimentRun, RunMetric } from '../contracts/index.ts'
import {
  describeDegradation,
  isGenImageDataset,
  PAPER_TRAIN_GENERATOR,
  paperGeneratorName,
  paperTable5Column,
  publishedPaperRow,
  type PaperTableId,
  type PublishedRow,
} from '../genimage/index.ts'
import { readingNotes } from './reading-notes.ts'
import { groupedBarsSvg, heatmapSvg, lineChartSvg } from './svg.ts'

/** The markdown report and the SVG files it links to (file name → content). */
export interface ExperimentReport {
  markdown: string
  files: Record<string, string>
  /** Table 4 structure per model: mean accuracy on the own generator (diagonal) and on the others. */
  crossGenerator: Array<{ model: string; diagonal: number; offDiagonal: number }>
}

const pct = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '–' : (100 * x).toFixed(1).replace(/^-(0\.0)$/, '$1'))
const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN)
const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`
const table = (header: readonly string[], rows: readonly (readonly string[])[], align: 'l' | 'r' = 'r') =>
  [row(header), row(header.map((_, i) => (i === 0 || align === 'l' ? '---' : '---:'))), ...rows.map(row)].join('\n')

/** The cell text for a published value; '–' where the source publishes none. */
const published = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(1))

/** Published rows used in one table, so their sources are cited once under it. */
class PaperRows {
  private readonly rows: PublishedRow[] = []
  private tinyShown = false
  constructor(private readonly table: PaperTableId) {}

  /** The published row for `model`, remembered for the note; undefined when nothing is published. */
  lookup(model: string): PublishedRow | undefined {
    const row = publishedPaperRow(this.table, model)
    if (row) this.rows.push(row)
    if (row && isTiny(model)) this.tinyShown = true
    return row
  }

  /** The label of a paper row shown under a measured row of `model`. */
  static label(row: PublishedRow, model: string): string {
    return `↳ paper: ${row.displayName}${isTiny(model) ? ' (full-size model)' : ''}`
  }

  /** One line citing each source once, or nothing when no paper row was shown. */
  note(): string[] {
    if (!this.rows.length) return []
    const sources = [...new Set(this.rows.map((r) => r.source))]
    const averageOnly = [...new Set(this.rows.filter((r) => Object.keys(r.cells).length === 0).map((r) => r.displayName))]
    const parts = [`"paper" rows: published accuracy (%) from ${sources.join('; ')}.`]
    if (averageOnly.length) parts.push(`For ${averageOnly.join(', ')} only the published average is carried.`)
    if (this.tinyShown) parts.push("A `-tiny` model is a smaller variant of the published architecture: its row is not a reproduction of the paper's.")
    return [parts.join(' '), '']
  }
}

const isTiny = (model: string) => model.toLowerCase().endsWith('-tiny')

/** True when a run group was trained on exactly the paper's SD V1.4 set, as Tables 3 and 5 are. */
const trainedLikePaper = (trainOn: readonly string[]) => trainOn.length === 1 && paperGeneratorName(trainOn[0]!) === PAPER_TRAIN_GENERATOR

/** Runs of one model trained on one set, over all seeds. */
interface RunGroup {
  model: string
  trainOn: string[]
  runs: ExperimentRun[]
}

function groupRuns(runs: readonly ExperimentRun[]): RunGroup[] {
  const groups = new Map<string, RunGroup>()
  for (const run of runs) {
    const key = `${run.model}|${run.trainOn.join('+')}`
    const group = groups.get(key) ?? { model: run.model, trainOn: run.trainOn, runs: [] }
    group.runs.push(run)
    groups.set(key, group)
  }
  return [...groups.values()]
}

/** Mean over seeds of one cell; undefined when no seed has a metric for it. */
function cell(group: RunGroup, testSet: string, degradation: string, pick: (m: RunMetric) => number | null = (m) => m.accuracy): number | undefined {
  const values = group.runs
    .flatMap((r) => r.metrics.filter((m) => m.testSet === testSet && m.degradation === degradation).map(pick))
    .filter((v): v is number => v !== null)
  return values.length ? mean(values) : undefined
}

/** Builds the report: the paper's table layout for the protocol, per-cell detail, and SVG charts. */
export function buildExperimentReport(experiment: ExperimentDetail): ExperimentReport {
  const { spec } = experiment
  const genimage = isGenImageDataset(spec.generators)
  const label = (g: string) => paperGeneratorName(g) ?? g
  const groups = groupRuns(experiment.runDetails)
  const testSets = [...new Set(experiment.runDetails.flatMap((r) => r.testOn))]
  const files: Record<string, string> = {}
  const crossGenerator: ExperimentReport['crossGenerator'] = []
  const out: string[] = []

  out.push(`# Experiment ${experiment.id}${experiment.name ? ` — ${experiment.name}` : ''}`, '')
  out.push(
    `- protocol: **${spec.protocol}**, state: **${experiment.state}** (${experiment.runs.succeeded} of ${experiment.runDetails.length} runs succeeded${experiment.runs.failed ? `, ${experiment.runs.failed} failed` : ''})`,
  )
  out.push(
    `- dataset: \`${spec.dataRoot}\` — generators: ${spec.generators.map(label).join(', ')}${genimage ? ' (GenImage)' : " (not GenImage: the paper's numbers are not comparable and are not shown beside these)"}`,
  )
  out.push(
    `- models: ${spec.models.join(', ')}; epochs ${spec.epochs}, batch ${spec.batchSize}, seeds ${spec.seeds.join(', ')}${spec.limitPerClass ? `, at most ${spec.limitPerClass} train images per generator and class` : ''}${spec.testLimitPerClass ? `, at most ${spec.testLimitPerClass} test images per generator and class` : ''}`,
  )
  out.push(
    `- debias: ${spec.debiasJpegQuality ? `training images JPEG-aligned at q${spec.debiasJpegQuality}` : 'none'}; degradations apply to ${spec.degradeReal ? 'real and generated' : 'generated images only'}; downscale interpolation ${spec.interpolation}`,
  )
  out.push(`- accuracy at threshold 0.5 in %, mean over seeds; 95% bootstrap intervals in the detail table`, '')
  out.push(...readingNotes(experiment))

  if (spec.protocol === 'table3' || (spec.protocol === 'custom' && experiment.runDetails.some((r) => r.degradations.includes('none')))) {
    out.push(`## ${spec.protocol === 'table3' ? 'Table 3 — trained on one generator, tested on every val subset' : 'Accuracy per test set'}`, '')
    const header = ['model (trained on)', ...testSets.map(label), 'Avg']
    const paper = new PaperRows('table3')
    const rows: string[][] = []
    const bars: Array<{ name: string; values: Array<number | undefined> }> = []
    for (const g of groups) {
      const values = testSets.map((t) => cell(g, t, 'none'))
      bars.push({ name: `${g.model} (${g.trainOn.map(label).join('+')})`, values })
      const defined = values.filter((v): v is number => v !== undefined)
      rows.push([`${g.model} (${g.trainOn.map(label).join('+')})`, ...values.map(pct), pct(defined.length === values.length ? mean(defined) : undefined)])
      const row = genimage && spec.protocol === 'table3' && trainedLikePaper(g.trainOn) ? paper.lookup(g.model) : undefined
      if (row) rows.push([PaperRows.label(row, g.model), ...testSets.map((t) => published(row.cells[label(t)])), published(row.average)])
    }
    out.push(table(header, rows), '', ...paper.note())
    files['table3-accuracy.svg'] = groupedBarsSvg('Accuracy per test set', testSets.map(label), bars)
    out.push('![accuracy per test set](table3-accuracy.svg)', '')
  }

  if (spec.protocol === 'table4') {
    out.push('## Table 4 — one model per training generator, tested on every generator', '')
    const trainSets = spec.generators
    const paper = new PaperRows('table4')
    const paperLayoutRows: string[][] = []
    const byTrainRows: string[][] = []
    for (const model of spec.models) {
      const byTrain = trainSets.map((t) => groups.find((g) => g.model === model && g.trainOn.join('+') === t))
      const matrix = byTrain.map((g) => testSets.map((t) => (g ? cell(g, t, 'none') : undefined)))
      const diagonal = trainSets.map((t, i) => matrix[i]![testSets.indexOf(t)]).filter((v): v is number => v !== undefined)
      const off = matrix.flatMap((r, i) => r.filter((v, j): v is number => v !== undefined && testSets[j] !== trainSets[i]))
      crossGenerator.push({ model, diagonal: mean(diagonal), offDiagonal: mean(off) })
      const name = `table4-heatmap-${model}.svg`
      files[name] = heatmapSvg(`${model}: accuracy (%) trained on row, tested on column`, trainSets.map(label), testSets.map(label), (i, j) => matrix[i]![j])
      out.push(`### ${model}`, '', `![cross-generator heatmap for ${model}](${name})`, '')
      const columnMeans = testSets.map((_, j) => mean(matrix.map((r) => r[j]).filter((v): v is number => v !== undefined)))
      out.push(
        table(
          ['trained on \\ tested on', ...testSets.map(label), 'Avg'],
          [
            ...matrix.map((r, i) => [label(trainSets[i]!), ...r.map(pct), pct(mean(r.filter((v): v is number => v !== undefined)))]),
            ['**column Avg**', ...columnMeans.map(pct), pct(mean(columnMeans))],
          ],
        ),
        '',
      )
      out.push(
        `Own generator (diagonal) ${pct(mean(diagonal))}%, other generators (off-diagonal) ${pct(mean(off))}%: a gap of ${pct(mean(diagonal) - mean(off))} points.`,
        '',
      )
      paperLayoutRows.push([model, ...columnMeans.map(pct), pct(mean(columnMeans))])
      const row = genimage ? paper.lookup(model) : undefined
      if (row) paperLayoutRows.push([PaperRows.label(row, model), ...testSets.map((t) => published(row.cells[label(t)])), published(row.average)])
      byTrainRows.push([
        model,
        ...matrix.map((r) => pct(mean(r.filter((v): v is number => v !== undefined)))),
        pct(mean(matrix.flat().filter((v): v is number => v !== undefined))),
      ])
    }
    out.push("### Mean over the models trained on each generator, per test set (the paper's Table 4 layout)", '')
    out.push(table(['model \\ tested on', ...testSets.map(label), 'Avg'], paperLayoutRows), '', ...paper.note())
    out.push('### Mean over test sets, per training generator', '')
    out.push(table(['model \\ trained on', ...trainSets.map(label), 'Avg'], byTrainRows), '')
  }

  if (spec.protocol === 'table5' || (spec.protocol === 'custom' && experiment.runDetails.some((r) => r.degradations.some((d) => d !== 'none')))) {
    const degradations = [...new Set(experiment.runDetails.flatMap((r) => r.degradations))]
    out.push(`## ${spec.protocol === 'table5' ? 'Table 5 — degraded test images' : 'Degraded test images'}`, '')
    const degraded = degradations.filter((d) => d !== 'none')
    const paper = new PaperRows('table5')
    const rows: string[][] = []
    const series: Array<{ name: string; values: Array<number | undefined> }> = []
    for (const g of groups) {
      for (const t of g.runs[0]!.testOn) {
        const values = degradations.map((d) => cell(g, t, d))
        const degradedValues = degraded.map((d) => cell(g, t, d))
        const complete = degradedValues.every((v) => v !== undefined)
        rows.push([
          `${g.model} (trained ${g.trainOn.map(label).join('+')}, tested ${label(t)})`,
          ...values.map(pct),
          pct(complete ? mean(degradedValues as number[]) : undefined),
        ])
        series.push({ name: `${g.model} → ${label(t)}`, values })
        const comparable = genimage && spec.protocol === 'table5' && trainedLikePaper(g.trainOn) && label(t) === PAPER_TRAIN_GENERATOR
        const row = comparable ? paper.lookup(g.model) : undefined
        if (row)
          rows.push([PaperRows.label(row, g.model), ...degradations.map((d) => published(row.cells[paperTable5Column(d) ?? ''])), published(row.average)])
      }
    }
    out.push(table(['model', ...degradations.map(describeDegradation), 'Avg (degraded)'], rows), '', ...paper.note())
    files['table5-degradations.svg'] = groupedBarsSvg('Accuracy under degradation', degradations.map(describeDegradation), series)
    out.push('![accuracy per degradation](table5-degradations.svg)', '')
  }

  const curves = experiment.runDetails.filter((r) => r.history.length > 0)
  if (curves.length) {
    const name = (r: ExperimentRun) => `${r.model} ${r.trainOn.map(label).join('+')} s${r.seed}`
    files['training-curves.svg'] = lineChartSvg('Training curves', [
      { label: 'train loss', series: curves.map((r) => ({ name: name(r), points: r.history.map((h) => [h.epoch, h.trainLoss] as [number, number]) })) },
      {
        label: 'val accuracy (own generator)',
        series: curves.map((r) => ({ name: name(r), points: r.history.map((h) => [h.epoch, h.valAccuracy] as [number, number]) })),
      },
    ])
    out.push('## Training curves', '', '![training curves](training-curves.svg)', '')
  }

  out.push('## Every cell', '')
  const detail = experiment.runDetails.flatMap((r) =>
    r.metrics.map((m) => [
      `${r.index}`,
      r.model,
      r.trainOn.map(label).join('+'),
      `${r.seed}`,
      label(m.testSet),
      describeDegradation(m.degradation),
      pct(m.accuracy),
      m.accuracyCi ? `${pct(m.accuracyCi[0])}–${pct(m.accuracyCi[1])}` : '–',
      pct(m.realAccuracy),
      pct(m.fakeAccuracy),
      pct(m.averagePrecision),
      pct(m.rocAuc),
      `${m.realCount}/${m.fakeCount}`,
    ]),
  )
  out.push(
    table(['run', 'model', 'trained on', 'seed', 'tested on', 'degradation', 'acc', '95% CI', 'real acc', 'fake acc', 'AP', 'AUC', 'real/fake n'], detail),
    '',
  )
  const problems = experiment.runDetails.filter((r) => r.state !== 'succeeded')
  if (problems.length) {
    out.push('## Runs without results', '')
    for (const r of problems)
      out.push(`- run ${r.index} (${r.model}, ${r.trainOn.join('+')}, seed ${r.seed}): ${r.state}${r.failureReason ? ` — ${r.failureReason}` : ''}`)
    out.push('')
  }
  return { markdown: out.join('\n'), files, crossGenerator }
}
