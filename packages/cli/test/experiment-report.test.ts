import { ExperimentSpec, type ExperimentDetail, type ExperimentRun, type RunMetric } from '@genimage/shared'
import { expandProtocol } from '@genimage/shared/protocols'
import { describe, expect, it } from 'vitest'
import { buildExperimentReport } from '../src/report/experiment-report.ts'

const GENIMAGE = ['Midjourney', 'SD_V1.4', 'SD_V1.5', 'ADM', 'GLIDE', 'Wukong', 'VQDM', 'BigGAN']

const metric = (testSet: string, accuracy: number, degradation = 'none'): RunMetric => ({
  testSet, degradation, accuracy, realAccuracy: 0.9, fakeAccuracy: 2 * accuracy - 0.9, averagePrecision: 0.8, rocAuc: 0.85, count: 200, realCount: 100, fakeCount: 100, accuracyCi: [accuracy - 0.05, accuracy + 0.05],
})

/** An experiment as the API returns it, with every run succeeded and accuracies from `accuracy(run, testSet, degradation)`. */
function experiment(input: Record<string, unknown>, accuracy: (run: { model: string; trainOn: string[]; seed: number }, testSet: string, degradation: string) => number): ExperimentDetail {
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
    progress: { phase: 'done', step: 4, totalSteps: 4, epoch: 2, epochs: 2, loss: 0.1, imagesPerSecond: 10, etaSeconds: 0, resumedFromStep: 0, backend: 'wasm', cellsDone: 0, cellsTotal: 0 },
    history: [{ epoch: 1, trainLoss: 0.6, valAccuracy: 0.7 }, { epoch: 2, trainLoss: 0.3, valAccuracy: 0.8 }],
    metrics: r.testOn.flatMap((t) => r.degradations.map((d) => metric(t, accuracy(r, t, d), d))),
    startedAt: null,
    finishedAt: null,
  }))
  return { id: 'exp_1', name: null, protocol: spec.protocol, state: 'succeeded', models: spec.models, dataRoot: spec.dataRoot, runs: { queued: 0, running: 0, succeeded: runs.length, failed: 0, cancelled: 0 }, createdAt: '', updatedAt: '', spec, runDetails: runs }
}

describe('experiment report', () => {
  it('table3 on GenImage: paper layout with the published average beside, averaged over seeds', () => {
    const report = buildExperimentReport(experiment({ protocol: 'table3', generators: GENIMAGE, models: ['resnet50-tiny'], seeds: [0, 1] }, (r, t) => (t === 'SD_V1.4' ? 0.9 + r.seed * 0.04 : 0.6)))
    const line = report.markdown.split('\n').find((l) => l.startsWith('| resnet50-tiny (SD V1.4)'))!
    // SD V1.4 column: mean of 0.90 and 0.94; others 0.6; Avg = (0.92 + 7 × 0.6) / 8 = 0.64
    expect(line).toBe('| resnet50-tiny (SD V1.4) | 60.0 | 92.0 | 60.0 | 60.0 | 60.0 | 60.0 | 60.0 | 60.0 | 64.0 | 72.1 (ResNet-50, full-size model) |')
    expect(report.markdown).toMatch(/\| model \(trained on\) \| Midjourney \| SD V1\.4 \| SD V1\.5 \| ADM \| GLIDE \| Wukong \| VQDM \| BigGAN \| Avg \| paper Avg \|/)
    expect(report.files['training-curves.svg']).toMatch(/^<svg/)
  })

  it('table4 on GenImage-mini: the matrix, column averages, the diagonal/off-diagonal gap and a heatmap; no paper numbers', () => {
    const mini = ['Bicubic', 'RDN-slim', 'AE-decoder']
    const report = buildExperimentReport(experiment({ protocol: 'table4', generators: mini }, (r, t) => (r.trainOn[0] === t ? 0.95 : 0.55)))
    expect(report.crossGenerator).toEqual([{ model: 'npr-tiny', diagonal: expect.closeTo(0.95, 10), offDiagonal: expect.closeTo(0.55, 10) }])
    expect(report.markdown).toMatch(/Own generator \(diagonal\) 95\.0%, other generators \(off-diagonal\) 55\.0%: a gap of 40\.0 points/)
    // each column: one 0.95 and two 0.55 → 68.3
    expect(report.markdown).toContain('| **column Avg** | 68.3 | 68.3 | 68.3 | 68.3 |')
    expect(report.markdown).toMatch(/not GenImage/)
    expect(report.markdown).not.toMatch(/paper Avg/)
    const svg = report.files['table4-heatmap-npr-tiny.svg']!
    expect(svg.match(/<rect x=/g)).toHaveLength(9)
    expect(svg).toContain('>95.0</text>')
  })

  it('table5: one column per degradation and a bar per model in the chart', () => {
    const order = ['none', 'downscale-112', 'downscale-64', 'jpeg-65', 'jpeg-30', 'blur-3', 'blur-5']
    const report = buildExperimentReport(experiment({ protocol: 'table5', generators: GENIMAGE, models: ['npr-tiny', 'cnnspot-tiny'] }, (r, _t, d) => 0.95 - order.indexOf(d) * 0.05 - (r.model === 'cnnspot-tiny' ? 0.1 : 0)))
    expect(report.markdown).toContain('| model | original | downscale 112 | downscale 64 | JPEG q65 | JPEG q30 | blur σ=3 | blur σ=5 |')
    expect(report.markdown).toContain('| npr-tiny (trained SD V1.4, tested SD V1.4) | 95.0 | 90.0 | 85.0 | 80.0 | 75.0 | 70.0 | 65.0 |')
    const bars = report.files['table5-degradations.svg']!
    expect(bars.match(/<rect x="\d+(\.\d+)?" y="[\d.]+" width="16"/g)).toHaveLength(14)
  })
})
