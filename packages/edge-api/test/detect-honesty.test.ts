import { DetectResponse, ErrorResponse, type ModelCardInput, type TrainingProfile } from '@genimage/shared'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { edgeWith, form, PNG_8x8, oipPeer } from './fixtures.ts'

const TRAINED_ON = 'GenImage-mini (128-px crops of 4 toy generators), not real text-to-image generators'

function card(name: string, extra: Partial<ModelCardInput> = {}): ModelCardInput {
  return {
    name,
    version: '1',
    architecture: 'npr-tiny',
    task: 'binary',
    labels: ['nature', 'ai'],
    sha256: 'a'.repeat(64),
    input: { layout: 'NCHW', height: 64, width: 64, resize: 'center-crop', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    provenance: { kind: 'trained', createdAt: '2026-12-01T00:00:00Z' },
    ...extra,
  }
}

const PROFILE: TrainingProfile = {
  width: [128, 128],
  height: [128, 128],
  channelMean: [
    [0.1, 0.9],
    [0.1, 0.9],
    [0.1, 0.9],
  ],
  channelStd: [
    [0.02, 0.4],
    [0.02, 0.4],
    [0.02, 0.4],
  ],
  score: [0.05, 0.95],
  count: 1000,
  method: 'test profile',
}

/**
 * An OIP peer whose metadata carries `cards` and whose inference answers `ai` for every image, plus
 * `statistics` (R, G, B means then stds) as the runner's input_statistics output when given.
 */
function cardPeer(cards: ModelCardInput[], ai: number, statistics?: number[]) {
  const base = oipPeer({ models: cards.map((c) => c.name) })
  const app = new Hono()
  app.get('/v2/models/:name', (c) => {
    const found = cards.find((m) => m.name === c.req.param('name'))
    if (!found) return c.json({ error: 'not found', code: 'model_not_found' }, 404)
    return c.json({ name: found.name, versions: ['1'], platform: 'onnxruntime_onnx', inputs: [], outputs: [], card: found })
  })
  app.post('/v2/models/:name/infer', (c) => {
    const outputs = [{ name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: [1 - ai, ai] }]
    if (statistics) outputs.push({ name: 'input_statistics', datatype: 'FP32', shape: [1, 6], data: statistics })
    return c.json({ model_name: c.req.param('name'), outputs })
  })
  app.all('*', (c) => base.app.fetch(c.req.raw))
  return { ...base, app: app as unknown as typeof base.app }
}

const detect = async (app: { request: (path: string, init: RequestInit) => Response | Promise<Response> }, model?: string) =>
  app.request('/v1/detect', {
    method: 'POST',
    body: form([{ name: 'image', value: PNG_8x8, filename: 'x.png' }, ...(model ? [{ name: 'model', value: model }] : [])]),
  })

describe('detect answers say what the model is', () => {
  it('names the training data, applies the card calibration and flags an image unlike the training images', async () => {
    const calibration = { method: 'temperature', temperature: 2, threshold: 0.7, fittedOn: { dataset: 'photos', split: 'held-out', count: 50 } } as const
    const peer = cardPeer([card('mini', { trainedOn: TRAINED_ON, calibration, trainingProfile: PROFILE })], 0.8, [0.5, 0.5, 0.5, 0.6, 0.1, 0.1])
    const { app } = await edgeWith({ r1: peer })
    const res = await detect(app)
    expect(res.status).toBe(200)
    const body = DetectResponse.parse(await res.json())
    expect(body.model).toEqual({ name: 'mini', version: '1', training_data: TRAINED_ON, docs: '/v1/models/mini' })
    expect(body.threshold).toBe(0.7)
    expect(body.threshold_source).toBe('calibration')
    const image = body.images[0]
    expect(image?.ai_generated).toBeCloseTo(0.8, 5)
    expect(image?.calibrated).toBe(true)
    // logits / 2: P(ai) = sqrt(0.8) / (sqrt(0.8) + sqrt(0.2)) = 2/3, under the calibrated threshold 0.7.
    expect(image?.calibrated_probability).toBeCloseTo(2 / 3, 5)
    expect(image?.verdict).toBe('real')
    expect(image?.out_of_distribution.flagged).toBe(true)
    expect(image?.out_of_distribution.checks).toEqual({ size: 'outside', colour: 'outside', score: 'inside' })
    expect(image?.out_of_distribution.reasons.join('\n')).toMatch(/size: 8×8 px is outside the training images' 128×128 px/)
    expect(image?.out_of_distribution.reasons.join('\n')).toMatch(/R std 0\.600 outside \[0\.020, 0\.400\]/)
  })

  it('flags a score outside the training range and keeps a configured DETECT_THRESHOLD', async () => {
    const peer = cardPeer(
      [card('mini', { trainedOn: TRAINED_ON, trainingProfile: { ...PROFILE, width: [1, 200], height: [1, 200] } })],
      0.99,
      [0.5, 0.5, 0.5, 0.1, 0.1, 0.1],
    )
    const { app } = await edgeWith({ r1: peer }, { threshold: 0.995 })
    const body = DetectResponse.parse(await (await detect(app)).json())
    expect(body.threshold_source).toBe('config')
    const image = body.images[0]
    expect(image?.calibrated).toBe(false)
    expect(image?.calibrated_probability).toBe(null)
    expect(image?.verdict).toBe('real')
    expect(image?.out_of_distribution.checks).toEqual({ size: 'inside', colour: 'inside', score: 'outside' })
    expect(image?.out_of_distribution.reasons).toEqual(['score: 0.990 is outside [0.050, 0.950], the range on the training images'])
  })

  it('says plainly when the card records neither training data, calibration nor profile', async () => {
    const { app } = await edgeWith({ r1: oipPeer() })
    const body = DetectResponse.parse(await (await detect(app)).json())
    expect(body.model.training_data).toMatch(/not recorded in the model card/)
    expect(body.threshold_source).toBe('default')
    expect(body.images[0]?.calibrated).toBe(false)
    expect(body.images[0]?.out_of_distribution).toEqual({
      flagged: false,
      checks: { size: 'unknown', colour: 'unknown', score: 'unknown' },
      reasons: ['the model card records no training profile, so nothing can be said about whether this image resembles the training data'],
    })
  })
})

describe('the default model is explicit', () => {
  const ambiguous = async (res: Response) => {
    expect(res.status).toBe(409)
    return ErrorResponse.parse(await res.json()).error
  }

  it('refuses to guess between several models when no card claims default and DEFAULT_MODEL is unset', async () => {
    const { app } = await edgeWith({ r1: cardPeer([card('b')], 0.1) })
    expect(DetectResponse.parse(await (await detect(app)).json()).model.name).toBe('b')
    // A second model ('a' sorts first) joins: the answer does not silently switch to it.
    const grown = await edgeWith({ r1: cardPeer([card('b'), card('a')], 0.1) })
    const error = await ambiguous(await detect(grown.app))
    expect(error.code).toBe('default_model_ambiguous')
    expect(error.message).toBe('no default model among a, b; name one with the `model` form field, or set DEFAULT_MODEL on the edge')
    expect((await detect(grown.app, 'a')).status).toBe(200)
  })

  it('serves the card that claims default, DEFAULT_MODEL over it, and refuses two claimants', async () => {
    const peers = { r1: cardPeer([card('a'), card('b', { default: true })], 0.1) }
    const { app } = await edgeWith(peers)
    expect(DetectResponse.parse(await (await detect(app)).json()).model.name).toBe('b')
    const configured = await edgeWith(peers, { defaultModel: 'a' })
    expect(DetectResponse.parse(await (await detect(configured.app)).json()).model.name).toBe('a')
    const two = await edgeWith({ r1: cardPeer([card('a', { default: true }), card('b', { default: true })], 0.1) })
    const error = await ambiguous(await detect(two.app))
    expect(error.code).toBe('default_model_ambiguous')
    expect(error.message).toMatch(/several model cards claim default \(a, b\)/)
  })
})
