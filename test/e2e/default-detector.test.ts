import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DetectResponse, ModelsResponse } from '@genimage/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot, type Started, startGenimage } from '../support/processes.ts'

let work: string
let runner: Started
let edge: Started

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

describe('the detector npm start serves out of the box', () => {
  it('is the trained NPR-tiny whose card says GenImage-mini, with measured accuracy per mini generator', async () => {
    const body = ModelsResponse.parse(await (await fetch(`${edge.url}/v1/models`)).json())
    const model = body.models.find((m) => m.name === 'npr-tiny-mini')
    expect(model?.provenance).toBe('trained')
    expect(model?.description).toMatch(/GenImage-mini \(not GenImage\)/)
    expect(model?.metrics[0]?.accuracy).toBeGreaterThan(0.75)
    const card = JSON.parse(await readFile(join(repoRoot, 'models/npr-tiny-mini/card.json'), 'utf8'))
    expect(Object.keys(card.metrics[0].perGenerator).sort()).toEqual(['AE-decoder', 'Bicubic', 'RDN-medium', 'RDN-slim'])
    expect(card.provenance.command).toMatch(/^npx genimage train --model npr-tiny/)
  })

  it('scores a shipped real photograph over HTTP', async () => {
    const photo = await readFile(join(repoRoot, 'packages/dataset-tools/photos/lomiri-aitzgorri.jpg'))
    const form = new FormData()
    form.append('image', new Blob([photo]), 'photo.jpg')
    form.append('model', 'npr-tiny-mini')
    const res = await fetch(`${edge.url}/v1/detect`, { method: 'POST', body: form })
    expect(res.status).toBe(200)
    const result = DetectResponse.parse(await res.json())
    expect(result.model.name).toBe('npr-tiny-mini')
    expect(result.images[0]?.ai_generated).toBeGreaterThanOrEqual(0)
  })

  it('answers a request naming no model with the card marked default, saying what it was trained on and that a full-size photo is outside it', async () => {
    const card = JSON.parse(await readFile(join(repoRoot, 'models/npr-tiny-mini/card.json'), 'utf8'))
    const form = new FormData()
    form.append('image', new Blob([await readFile(join(repoRoot, 'packages/dataset-tools/photos/lomiri-aitzgorri.jpg'))]), 'photo.jpg')
    const result = DetectResponse.parse(await (await fetch(`${edge.url}/v1/detect`, { method: 'POST', body: form })).json())
    expect(result.model).toMatchObject({ name: 'npr-tiny-mini', training_data: card.trainedOn })
    const image = result.images[0]
    // Calibrated on held-out full-size real photographs (`genimage models calibrate`): the card's threshold decides.
    expect(image?.calibrated).toBe(true)
    expect(result.threshold_source).toBe('calibration')
    expect(result.threshold).toBe(card.calibration.threshold)
    // 1600×1065 against the 128×128 crops it was trained on; the runner measured the colours it looked at.
    expect(image?.out_of_distribution.flagged).toBe(true)
    expect(image?.out_of_distribution.checks.size).toBe('outside')
    expect(image?.out_of_distribution.checks.colour).toBe('inside')
    expect(image?.out_of_distribution.reasons[0]).toBe("size: 1600×1065 px is outside the training images' 128×128 px")
  })
})
