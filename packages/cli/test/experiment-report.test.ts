import { ExperimentSpec, type ExperimentDetail, type ExperimentRun, type RunMetric } from '@genimage/shared'
import { expandProtocol } from '@genimage/shared/genimage'
import { describe, expect, it } from 'vitest'
import { buildExperimentReport, experimentReportHtml } from '@genimage/shared/charts'

const GENIMAGE = ['Midjourney', 'SD_V1.4', 'SD_V1.5', 'ADM', 'GLIDE', 'Wukong', 'VQDM', 'BigGAN']

const metric = (testSet: string, accuracy: number, degradation = 'none'): RunMetric => ({
  testSet,
  degradation,
  accuracy,
  realAccuracy: 0.9,
  fakeAccuracy: 2 * accuracy - 0.9,
  averagePrecision: 0.8,
  rocAuc: 0.85,
  count: 200,
  realCount: 100,
  fakeCount: 100,
  accuracyCi: [accuracy - 0.05, accuracy + 0.05],
})

/** An experiment as the API returns it, with every run succeeded and accuracies from `accuracy(run, testSet, degradation)`. */
function experiment(
  input: Record<string, unknown>,
  accuracy: (run: { model: string; trainOn: string[]; seed: number }, testSet: string, degradation: string) => number,
): ExperimentDetail {
  const spec = ExperimentSpec.parse({ dataRoot: '/data', models: ['npr-tiny'], ...input })
  const runs: ExperimentRun[] = expandProtocol(spec).map((r) => ({
    ...r,
    id: `run${r.index}`,
    state: 'succeeded',
    attempts: 1,
    maxAttempts: 3,
    failureReason: null,
    worker: null,
    artifactDir: null,
    progress: {
      phase: 'done',
      step: 4,
      totalSteps: 4,
      epoch: 2,
      epochs: 2,
      loss: 0.1,
      imagesPerSecond: 10,
      etaSeconds: 0,
      resumedFromStep: 0,
      backend: 'wasm',
      cellsDone: 0,
      cellsTotal: 0,
    },
    history: [
      { epoch: 1, trainLoss: 0.6, valAccuracy: 0.7 },
      { epoch: 2, trainLoss: 0.3, valAccuracy: 0.8 },
    ],
    metrics: r.testOn.flatMap((t) => r.degradations.map((d) => metric(t, accuracy(r, t, d), d))),
    startedAt: null,
    finishedAt: null,
  }))
  return {
    id: 'exp_1',
    name: null,
    protocol: spec.protocol,
    state: 'succeeded',
    models: spec.models,
    dataRoot: spec.dataRoot,
    runs: { queued: 0, running: 0, succeeded: runs.length, failed: 0, cancelled: 0 },
    createdAt: '',
    updatedAt: '',
    spec,
    runDetails: runs,
  }
}

/** The rows of the first markdown table whose header starts with `headerStart`, as header → cell maps keyed by the first cell. */
function tableRows(markdown: string, headerStart: string): Map<string, Record<string, string>> {
  const lines = markdown.split('\n')
  const start = lines.findIndex((l) => l.startsWith(`| ${headerStart}`))
  if (start < 0) throw new Error(`no table starting with ${headerStart}`)
  const cells = (line: string) => line.slice(2, -2).split(' | ')
  const header = cells(lines[start]!)
  const rows = new Map<string, Record<string, string>>()
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    const values = cells(line)
    rows.set(values[0]!, Object.fromEntries(header.map((h, i) => [h, values[i]!])))
  }
  return rows
}

describe('experiment report', () => {
  it('table3 on GenImage: paper layout, averaged over seeds, with the published row under each model', () => {
    const report = buildExperimentReport(
      experiment({ protocol: 'table3', generators: GENIMAGE, models: ['resnet50-tiny'], seeds: [0, 1] }, (r, t) =>
        t === 'SD_V1.4' ? 0.9 + r.seed * 0.04 : 0.6,
      ),
    )
    const lines = report.markdown.split('\n')
    const measured = lines.findIndex((l) => l.startsWith('| resnet50-tiny (SD V1.4)'))
    // SD V1.4 column: mean of 0.90 and 0.94; others 0.6; Avg = (0.92 + 7 × 0.6) / 8 = 0.64
    expect(lines[measured]).toBe('| resnet50-tiny (SD V1.4) | 60.0 | 92.0 | 60.0 | 60.0 | 60.0 | 60.0 | 60.0 | 60.0 | 64.0 |')
    expect(lines[measured + 1]).toBe('| ↳ paper: ResNet-50 (full-size model) | 54.9 | 99.9 | 99.7 | 53.5 | 61.9 | 98.2 | 56.6 | 52.0 | 72.1 |')
    expect(report.markdown).toMatch(/\| model \(trained on\) \| Midjourney \| SD V1\.4 \| SD V1\.5 \| ADM \| GLIDE \| Wukong \| VQDM \| BigGAN \| Avg \|/)
    expect(report.markdown).toContain('"paper" rows: published accuracy (%) from GenImage (Zhu et al., NeurIPS 2023 Datasets and Benchmarks, arXiv 2306.08571)')
    expect(report.markdown.match(/"paper" rows:/g)).toHaveLength(1)
    expect(report.files['training-curves.svg']).toMatch(/^<svg/)
  })

  it('table3: published cells land under their generator whatever the folder order; NPR shows its average only', () => {
    const shuffled = ['BigGAN', 'stable_diffusion_v_1_5', 'GLIDE', 'Midjourney', 'VQDM', 'stable_diffusion_v_1_4', 'Wukong', 'ADM']
    const report = buildExperimentReport(experiment({ protocol: 'table3', generators: shuffled, models: ['cnnspot-tiny', 'npr-tiny', 'swin-t'] }, () => 0.7))
    const rows = tableRows(report.markdown, 'model (trained on)')
    expect(Object.keys(rows.get('cnnspot-tiny (SD V1.4)')!).slice(1, 4)).toEqual(['BigGAN', 'SD V1.5', 'GLIDE'])
    expect(rows.get('↳ paper: CNNSpot (full-size model)')).toMatchObject({ GLIDE: '39.8', BigGAN: '46.8', Wukong: '78.6', 'SD V1.4': '96.3', Avg: '64.2' })
    expect(rows.get('↳ paper: Swin-T')).toMatchObject({ Midjourney: '62.1', VQDM: '62.3', Avg: '74.8' })
    expect(rows.get('↳ paper: NPR (full-size model)')).toMatchObject({ Midjourney: '–', ADM: '–', Avg: '90.1' })
    expect(report.markdown).toMatch(/For NPR only the published average is carried/)
    expect(report.markdown).toContain('reported for NPR (Tan et al., CVPR 2024)')
  })

  it('table3 trained on another generator than SD V1.4: no paper row', () => {
    const report = buildExperimentReport(experiment({ protocol: 'table3', generators: GENIMAGE, trainOn: ['ADM'], models: ['resnet50'] }, () => 0.7))
    expect(report.markdown).toContain('| resnet50 (ADM) |')
    expect(report.markdown).not.toMatch(/paper:/)
  })

  it('table4 on GenImage-mini: the matrix, column averages, the diagonal/off-diagonal gap and a heatmap; no paper numbers', () => {
    const mini = ['Bicubic', 'RDN-slim', 'AE-decoder']
    const report = buildExperimentReport(experiment({ protocol: 'table4', generators: mini }, (r, t) => (r.trainOn[0] === t ? 0.95 : 0.55)))
    expect(report.crossGenerator).toEqual([{ model: 'npr-tiny', diagonal: expect.closeTo(0.95, 10), offDiagonal: expect.closeTo(0.55, 10) }])
    expect(report.markdown).toMatch(/Own generator \(diagonal\) 95\.0%, other generators \(off-diagonal\) 55\.0%: a gap of 40\.0 points/)
    // each column: one 0.95 and two 0.55 → 68.3
    expect(report.markdown).toContain('| **column Avg** | 68.3 | 68.3 | 68.3 | 68.3 |')
    expect(report.markdown).toMatch(/not GenImage/)
    expect(report.markdown).not.toMatch(/paper:|"paper" rows/)
    const svg = report.files['table4-heatmap-npr-tiny.svg']!
    // 3 × 3 cells of 64 px, and the colour scale beside them (0 red … 50 white, chance … 100 blue)
    expect(svg.match(/<rect class="cell" x="[\d.]+" y="[\d.]+" width="64" height="64"/g)).toHaveLength(9)
    expect(svg).toContain('>95.0</text>')
    expect(svg).toContain('>accuracy (%)</text>')
    expect(svg).toContain('>50 chance</text>')
  })

  it('table5 on GenImage: one column per degradation, the degraded average, the published row, and a bar per model', () => {
    const order = ['none', 'downscale-112', 'downscale-64', 'jpeg-65', 'jpeg-30', 'blur-3', 'blur-5']
    const report = buildExperimentReport(
      experiment(
        { protocol: 'table5', generators: GENIMAGE, models: ['npr-tiny', 'cnnspot-tiny'] },
        (r, _t, d) => 0.95 - order.indexOf(d) * 0.05 - (r.model === 'cnnspot-tiny' ? 0.1 : 0),
      ),
    )
    expect(report.markdown).toContain('| model | original | downscale 112 | downscale 64 | JPEG q65 | JPEG q30 | blur σ=3 | blur σ=5 | Avg (degraded) |')
    // degraded: 90, 85, 80, 75, 70, 65 → 77.5
    expect(report.markdown).toContain('| npr-tiny (trained SD V1.4, tested SD V1.4) | 95.0 | 90.0 | 85.0 | 80.0 | 75.0 | 70.0 | 65.0 | 77.5 |')
    const rows = tableRows(report.markdown, 'model | original')
    expect(rows.get('↳ paper: CNNSpot (full-size model)')).toEqual({
      model: '↳ paper: CNNSpot (full-size model)',
      original: '–',
      'downscale 112': '50.0',
      'downscale 64': '50.0',
      'JPEG q65': '97.3',
      'JPEG q30': '97.3',
      'blur σ=3': '97.4',
      'blur σ=5': '77.9',
      'Avg (degraded)': '78.3',
    })
    // NPR is not in the paper's Table 5
    expect([...rows.keys()].filter((k) => k.startsWith('↳ paper'))).toEqual(['↳ paper: CNNSpot (full-size model)'])
    const bars = report.files['table5-degradations.svg']!
    expect(bars.match(/<rect x="\d+(\.\d+)?" y="[\d.]+" width="16"/g)).toHaveLength(14)
  })

  it("table4 on GenImage: the paper's layout (column means over the eight models) with the published row under each model", () => {
    const report = buildExperimentReport(
      experiment({ protocol: 'table4', generators: GENIMAGE, models: ['swin-t-tiny', 'npr-tiny'] }, (r, t) => (r.trainOn[0] === t ? 0.99 : 0.59)),
    )
    const rows = tableRows(report.markdown, 'model \\ tested on')
    // each column: one 0.99 and seven 0.59 → 64.0
    expect(rows.get('swin-t-tiny')).toMatchObject({ Midjourney: '64.0', BigGAN: '64.0', Avg: '64.0' })
    expect(rows.get('↳ paper: Swin-T (full-size model)')).toMatchObject({ Midjourney: '61.7', 'SD V1.4': '76.0', GLIDE: '76.9', BigGAN: '69.5', Avg: '70.3' })
    expect(rows.has('↳ paper: NPR (full-size model)')).toBe(false)
    expect([...rows.keys()]).toEqual(['swin-t-tiny', '↳ paper: Swin-T (full-size model)', 'npr-tiny'])
    expect(report.markdown).toMatch(/## Table 4/)
  })

  it("GenImage-mini: the paper's numbers are said to be not comparable and none are shown", () => {
    const mini = ['Bicubic', 'RDN-slim', 'AE-decoder']
    for (const input of [
      { protocol: 'table3', trainOn: ['Bicubic'] },
      { protocol: 'table5', trainOn: ['Bicubic'] },
    ]) {
      const report = buildExperimentReport(experiment({ ...input, generators: mini, models: ['resnet50-tiny', 'cnnspot-tiny'] }, () => 0.8))
      expect(report.markdown).toMatch(/not GenImage: the paper's numbers are not comparable/)
      expect(report.markdown).not.toMatch(/paper:|"paper" rows/)
      for (const published of ['72.1', '64.2', '78.3', '97.3']) expect(report.markdown).not.toContain(published)
    }
  })
})

describe('how to read the report', () => {
  it('names below-chance cells, points to --debias when training was not JPEG-aligned, and draws the Table 3 result chart', () => {
    const report = buildExperimentReport(experiment({ protocol: 'table3', generators: GENIMAGE }, (_, t) => (t === 'BigGAN' ? 0.237 : 0.8)))
    const notes = report.markdown.slice(report.markdown.indexOf('## How to read this report'), report.markdown.indexOf('## Table 3'))
    expect(notes).toMatch(/\*\*1 cell\(s\) are below chance\*\*.*npr-tiny \(trained SD V1\.4, seed 0\) on BigGAN: accuracy 23\.7%/)
    expect(notes).toMatch(/not JPEG-aligned.*`--debias`/)
    expect(notes).toMatch(/One seed per run/)
    expect(notes).not.toMatch(/not GenImage|Small test sets/)
    const chart = report.files['table3-accuracy.svg']!
    expect(chart.match(/<rect x="[\d.]+" y="[\d.]+" width="16"/g)).toHaveLength(8)
    expect(report.markdown).toContain('![accuracy per test set](table3-accuracy.svg)')
    // training curves: five value ticks per panel (loss 0 … 0.6) and a tick per epoch
    const curves = report.files['training-curves.svg']!
    for (const tick of ['0.00', '0.15', '0.30', '0.45', '0.60']) expect(curves).toContain(`>${tick}</text>`)
    expect(curves.match(/text-anchor="middle">[12]<\/text>/g)).toHaveLength(4)
  })

  it('says nothing it does not need to: JPEG-aligned, three seeds, every cell above chance', () => {
    const report = buildExperimentReport(experiment({ protocol: 'table3', generators: GENIMAGE, seeds: [0, 1, 2], debiasJpegQuality: 96 }, () => 0.8))
    expect(report.markdown).not.toContain('## How to read this report')
  })
})

describe('report --format html', () => {
  it('is one page: every markdown table a <table>, every chart inline, the caveats as a list, markup escaped', () => {
    const mini = ['Bicubic', 'RDN-slim', 'AE-decoder']
    const report = buildExperimentReport(experiment({ protocol: 'table4', generators: mini }, (r, t) => (r.trainOn[0] === t ? 0.95 : 0.3)))
    const html = experimentReportHtml('Experiment exp_1 <mini>', report.markdown, report.files)
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).toContain('<title>Experiment exp_1 &lt;mini&gt;</title>')
    const markdownTables = report.markdown.split('\n').filter((line, i, all) => line.startsWith('|') && !all[i - 1]?.startsWith('|')).length
    expect(html.match(/<table>/g)).toHaveLength(markdownTables)
    expect(html).not.toMatch(/!\[|\]\(table4-heatmap/)
    expect(html.match(/<svg /g)).toHaveLength(Object.keys(report.files).length)
    expect(html).toContain('<h2>How to read this report</h2>')
    expect(html).toMatch(/<li><strong>\d+ cell\(s\) are below chance<\/strong>/)
    expect(html).toContain('<code>--debias</code>')
    expect(html).toContain('<td class="num">95.0</td>')
  })
})
