import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DetectResponse, ModelCard, ModelDetail, ModelsResponse } from '@genimage/shared'
import { TABLE5_DEGRADATIONS } from '@genimage/shared/genimage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot, type Started, startGenimage } from '../support/processes.ts'

/** The default detector and its binary twin, both trained on every GenImage-mini generator (bench/default-detectors.sh). */
const DEFAULT_MODEL = 'npr-tiny-mini-attribution'
const BINARY_TWIN = 'npr-tiny-mini'
const MINI_GENERATORS = ['AE-decoder', 'Bicubic', 'GAN-tconv', 'LDM-ddim-20', 'LDM-ddpm-50', 'PixDM-ddpm-50', 'RDN-medium', 'RDN-slim']
const ENCODINGS = ['as-is', 'png', 'jpeg-q75', 'jpeg-q85', 'jpeg-q95']
const PHOTO = 'packages/dataset-tools/photos/lomiri-aitzgorri.jpg'

let work: string
let runner: Started
let edge: Started

const readCard = async (name: string) => ModelCard.parse(JSON.parse(await readFile(join(repoRoot, 'models', name, 'card.json'), 'utf8')))
const detect = async (model?: string) => {
  const form = new FormData()
  form.append('image', new Blob([await readFile(join(repoRoot, PHOTO))]), 'photo.jpg')
  if (model) form.append('model', model)
  const res = await fetch(`${edge.url}/v1/detect`, { method: 'POST', body: form })
  expect(res.status).toBe(200)
  return DetectResponse.parse(await res.json())
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'genimage-default-'))
  runner = await startGenimage('runner', { RUNNER_PORT: '0', MODEL_DIR: join(repoRoot, 'models'), EXECUTION_PROVIDERS: 'cpu' })
  edge = await startGenimage('edge', { PORT: '0', RUNNER_URLS: runner.url, DATABASE_URL: `file:${join(work, 'db.sqlite')}` })
})
afterAll(async () => {
  await edge?.stop()
  await runner?.stop()
  await rm(work, { recursive: true, force: true })
})

describe('the detectors npm start serves out of the box', () => {
  it('are the trained NPR-tiny attribution default and its binary twin, whose cards say GenImage-mini and measure every mini generator', async () => {
    const body = ModelsResponse.parse(await (await fetch(`${edge.url}/v1/models`)).json())
    for (const name of [DEFAULT_MODEL, BINARY_TWIN]) {
      const model = body.models.find((m) => m.name === name)
      expect(model?.provenance, name).toBe('trained')
      expect(model?.description, name).toMatch(/GenImage-mini \(not GenImage\)/)
      const card = await readCard(name)
      expect(card.provenance.command, name).toMatch(
        /^npx genimage train --model npr-tiny .*--train-on "?RDN-slim,RDN-medium,AE-decoder,LDM-ddpm-50,LDM-ddim-20,PixDM-ddpm-50,GAN-tconv,Bicubic/,
      )
      expect(card.trainedOn, name).toMatch(/GenImage-mini.*not real text-to-image generators/)
      // Accuracy per generator at the served threshold, as stored and under each of Table 5's degradations.
      const table5 = card.metrics.filter((m) => m.degradation !== undefined)
      expect(table5.map((m) => m.degradation)).toEqual([...TABLE5_DEGRADATIONS])
      for (const metric of table5) {
        expect(Object.keys(metric.perGenerator ?? {}).sort(), `${name} ${metric.degradation}`).toEqual(MINI_GENERATORS)
        expect(metric.split).toMatch(/served threshold/)
        expect(metric.count).toBe(MINI_GENERATORS.length * 200)
      }
      expect(table5[0]!.accuracy, `${name} on the undegraded val split`).toBeGreaterThan(0.75)
      // Real-photo false positives after calibration, per encoding, with their counts.
      const fpr = card.realPhotoFalsePositives
      expect(fpr?.calibrated, name).toBe(true)
      expect(fpr?.threshold).toBe(card.calibration?.threshold)
      expect(fpr?.encodings.map((e) => e.encoding)).toEqual(ENCODINGS)
      for (const e of fpr?.encodings ?? []) {
        expect(e.count, `${name} ${e.encoding}`).toBeGreaterThanOrEqual(30)
        expect(e.rate).toBeCloseTo(e.falsePositives / e.count, 12)
      }
    }
    const attribution = await readCard(DEFAULT_MODEL)
    expect(attribution).toMatchObject({ task: 'attribution', default: true, labels: ['nature', ...attribution.labels.slice(1)] })
    expect(attribution.labels.slice(1).sort()).toEqual(MINI_GENERATORS)
    expect(attribution.confusion?.labels).toEqual(attribution.labels)
    expect(attribution.confusion?.counts.flat().reduce((s, n) => s + n, 0)).toBe(MINI_GENERATORS.length * 200)
    // The card as a user reads it over HTTP carries the confusion matrix and the per-degradation accuracies.
    const detail = ModelDetail.parse(await (await fetch(`${edge.url}/v1/models/${DEFAULT_MODEL}`)).json())
    expect(detail.card?.confusion).toEqual(attribution.confusion)
    expect(detail.card?.metrics.filter((m) => m.degradation !== undefined).length).toBe(TABLE5_DEGRADATIONS.length)
    const attributed = attribution.metrics.find((m) => /attributed to the right generator/.test(m.split))
    expect(Object.keys(attributed?.perGenerator ?? {}).sort()).toEqual(MINI_GENERATORS)
    const binary = await readCard(BINARY_TWIN)
    expect(binary).toMatchObject({ task: 'binary', labels: ['nature', 'ai'] })
    expect(binary.default).not.toBe(true)
  })

  it('answers a request naming no model with the attribution default: a ranking of the mini generators that sums to ai_generated', async () => {
    const card = await readCard(DEFAULT_MODEL)
    const result = await detect()
    expect(result.model).toMatchObject({ name: DEFAULT_MODEL, training_data: card.trainedOn })
    const image = result.images[0]!
    const generators = image.generators ?? []
    expect(generators.map((g) => g.name).sort()).toEqual(MINI_GENERATORS)
    const probabilities = generators.map((g) => g.probability)
    expect(probabilities).toEqual([...probabilities].sort((a, b) => b - a))
    expect(probabilities.reduce((s, p) => s + p, 0)).toBeCloseTo(image.ai_generated, 5)
    // Calibrated on held-out full-size real photographs (`genimage models calibrate`): the card's threshold decides.
    expect(image.calibrated).toBe(true)
    expect(result.threshold_source).toBe('calibration')
    expect(result.threshold).toBe(card.calibration?.threshold)
    // 1600×1065 against the 128×128 crops it was trained on; the runner measured the colours it looked at.
    expect(image.out_of_distribution.flagged).toBe(true)
    expect(image.out_of_distribution.checks.size).toBe('outside')
    expect(image.out_of_distribution.reasons[0]).toBe("size: 1600×1065 px is outside the training images' 128×128 px")
  })

  it('scores a shipped real photograph with the binary twin when a request names it, without a generator ranking', async () => {
    const result = await detect(BINARY_TWIN)
    expect(result.model.name).toBe(BINARY_TWIN)
    expect(result.images[0]?.ai_generated).toBeGreaterThanOrEqual(0)
    expect(result.images[0]?.generators).toBeUndefined()
  })
})
