import { DetectResponse, ErrorResponse, MAX_MODELS_PER_REQUEST, type ModelCardInput } from '@genimage/shared'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { edgeWith, form, JPEG_8x8, PNG_8x8 } from './fixtures.ts'

const ATTRIBUTION_LABELS = ['nature', 'sdv14', 'midjourney', 'biggan']

function card(name: string, labels: string[]): ModelCardInput {
  return {
    name,
    version: '3',
    architecture: 'fixture',
    task: labels.length > 2 ? 'attribution' : 'binary',
    labels,
    sha256: 'a'.repeat(64),
    input: { layout: 'NCHW', height: 8, width: 8, resize: 'center-crop', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    provenance: { kind: 'trained', createdAt: '2026-12-01T00:00:00Z' },
    trainedOn: 'test fixtures, not a detector',
  }
}

/**
 * An OIP peer serving each model in `probabilities` with its card; every image gets that model's fixed probabilities
 * (label order). `hold` delays inference; `calls` counts inference calls per model.
 */
function modelsPeer(probabilities: Record<string, number[]>, labels: Record<string, string[]>, hold?: Promise<void>) {
  const calls: Record<string, number> = {}
  const app = new Hono()
  app.get('/v2/health/ready', (c) => c.json({ ready: true }))
  app.post('/v2/repository/index', (c) => c.json(Object.keys(probabilities).map((name) => ({ name, version: '3', state: 'READY' }))))
  app.get('/v2/models/:name', (c) => {
    const name = c.req.param('name')
    const modelLabels = labels[name]
    if (!modelLabels) return c.json({ error: 'not found', code: 'model_not_found' }, 404)
    return c.json({ name, versions: ['3'], platform: 'onnxruntime_onnx', inputs: [], outputs: [], card: card(name, modelLabels) })
  })
  app.post('/v2/models/:name/infer', async (c) => {
    const name = c.req.param('name')
    calls[name] = (calls[name] ?? 0) + 1
    await hold
    const body = new Uint8Array(await c.req.arrayBuffer())
    const header = JSON.parse(new TextDecoder().decode(body.subarray(0, Number(c.req.header('inference-header-content-length')))))
    const count = header.inputs[0].shape[0] as number
    const row = probabilities[name] ?? []
    const data = Array.from({ length: count }, () => row).flat()
    return c.json({ model_name: name, outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [count, row.length], data }] })
  })
  return { app, calls }
}

const PROBABILITIES = { binary: [0.7, 0.3], attribution: [0.1, 0.2, 0.6, 0.1] }
const LABELS = { binary: ['nature', 'ai'], attribution: ATTRIBUTION_LABELS }

async function edge(config = {}, hold?: Promise<void>) {
  const peer = modelsPeer(PROBABILITIES, LABELS, hold)
  return { peer, ...(await edgeWith({ r1: peer as never }, config)) }
}

const detect = (app: { request: (path: string, init: RequestInit) => Response | Promise<Response> }, models: string[]) =>
  app.request('/v1/detect', {
    method: 'POST',
    body: form([
      { name: 'image', value: PNG_8x8, filename: 'a.png' },
      { name: 'image', value: JPEG_8x8, filename: 'b.jpg' },
      ...models.map((value) => ({ name: 'model', value })),
    ]),
  })

describe('attribution answers', () => {
  it('lists generators most likely first, summing to ai_generated, for an attribution model only', async () => {
    const { app } = await edge()
    const attribution = DetectResponse.parse(await (await detect(app, ['attribution'])).json())
    for (const image of attribution.images) {
      expect(image.generators?.map((g) => g.name)).toEqual(['midjourney', 'sdv14', 'biggan'])
      for (const [i, p] of [0.6, 0.2, 0.1].entries()) expect(image.generators?.[i]?.probability).toBeCloseTo(p, 6)
      const sum = image.generators?.reduce((s, g) => s + g.probability, 0) ?? 0
      expect(sum).toBeCloseTo(image.ai_generated, 6)
      expect(image.ai_generated).toBeCloseTo(0.9, 6)
    }
    const binary = DetectResponse.parse(await (await detect(app, ['binary'])).json())
    expect(binary.images.every((image) => !('generators' in image))).toBe(true)
  })

  it('documents generators, results and the repeatable model field in the OpenAPI document', async () => {
    const { app } = await edge()
    const document = (await (await app.request('/openapi.json')).json()) as {
      components: { schemas: Record<string, { properties: Record<string, { description?: string; items?: { properties: Record<string, unknown> } }> }> }
      paths: Record<string, { post?: { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } } }>
    }
    const response = document.components.schemas.DetectResponse?.properties ?? {}
    const image = response.images?.items?.properties as Record<string, { description?: string }>
    expect(image.generators?.description).toMatch(/attribution models only.*most likely first.*sum to ai_generated/)
    expect(response.results?.description).toMatch(/several models/)
    const upload = document.paths['/v1/detect']?.post?.requestBody.content['multipart/form-data']?.schema.properties
    expect(JSON.stringify(upload?.model)).toContain(`"maxItems":${MAX_MODELS_PER_REQUEST}`)
  })
})

describe('several models in one request', () => {
  it('answers as before with one model: no results list', async () => {
    const { app, peer } = await edge()
    const body = (await (await detect(app, ['binary'])).json()) as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(['id', 'images', 'model', 'threshold', 'threshold_source', 'timings'])
    expect(peer.calls).toEqual({ binary: 1 })
  })

  it('scores with each named model in its own runner call, lists each answer and records a row per image and model', async () => {
    const { app, peer, rows } = await edge()
    const res = await detect(app, ['attribution', 'binary'])
    expect(res.status).toBe(200)
    const body = DetectResponse.parse(await res.json())
    expect(peer.calls).toEqual({ attribution: 1, binary: 1 })
    expect(body.results?.map((r) => r.model.name)).toEqual(['attribution', 'binary'])
    expect(body.model.name).toBe('attribution')
    expect(body.images).toEqual(body.results?.[0]?.images)
    const binary = body.results?.[1]
    for (const image of binary?.images ?? []) expect(image.ai_generated).toBeCloseTo(0.3, 6)
    expect(binary?.images).toHaveLength(2)
    expect(binary?.images.map((i) => i.filename)).toEqual(['a.png', 'b.jpg'])
    expect(binary?.images.every((i) => i.generators === undefined)).toBe(true)
    expect(body.results?.[0]?.images.every((i) => i.generators?.[0]?.name === 'midjourney')).toBe(true)
    const recorded = await rows()
    expect(recorded).toHaveLength(4)
    expect(recorded.every((r) => r.requestId === body.id)).toBe(true)
    const key = (model: string, sha: string) => `${model} ${sha}`
    expect(recorded.map((r) => key(r.modelName, r.imageSha256)).sort()).toEqual(
      (body.results ?? []).flatMap((r) => r.images.map((i) => key(r.model.name, i.sha256))).sort(),
    )
    expect(recorded.map((r) => r.id).sort()).toEqual((body.results ?? []).flatMap((r) => r.images.map((i) => i.detection_id)).sort())
    expect(new Set(recorded.map((r) => r.id)).size).toBe(4)
  })

  it('answers 404 model_not_found naming an unknown model before scoring with any', async () => {
    const { app, peer, rows } = await edge()
    const res = await detect(app, ['binary', 'no-such-model'])
    expect(res.status).toBe(404)
    const body = ErrorResponse.parse(await res.json())
    expect(body.error.code).toBe('model_not_found')
    expect(body.error.message).toContain('no-such-model')
    expect(body.error.details).toEqual({ model: 'no-such-model' })
    expect(peer.calls).toEqual({})
    expect(await rows()).toHaveLength(0)
  })

  it(`answers 400 invalid_request for more than ${MAX_MODELS_PER_REQUEST} models or a model named twice`, async () => {
    const { app, peer } = await edge()
    const tooMany = await detect(app, ['binary', 'attribution', 'm3', 'm4', 'm5'])
    expect(tooMany.status).toBe(400)
    const body = ErrorResponse.parse(await tooMany.json())
    expect(body.error.code).toBe('invalid_request')
    expect(body.error.message).toContain(`at most ${MAX_MODELS_PER_REQUEST} models per request`)
    const twice = await detect(app, ['binary', 'binary'])
    expect(twice.status).toBe(400)
    expect(ErrorResponse.parse(await twice.json()).error.message).toContain('named more than once')
    expect(peer.calls).toEqual({})
  })

  it('takes one admission slot per model: 429 queue_full when the edge has fewer free', async () => {
    let release = () => {}
    const hold = new Promise<void>((resolve) => {
      release = resolve
    })
    const { app, peer } = await edge({ maxInflightDetects: 2 }, hold)
    const held = detect(app, ['binary'])
    while ((peer.calls.binary ?? 0) < 1) await new Promise((resolve) => setTimeout(resolve, 5))
    const refused = await detect(app, ['attribution', 'binary'])
    expect(refused.status).toBe(429)
    const error = ErrorResponse.parse(await refused.json())
    expect(error.error.code).toBe('queue_full')
    expect(error.error.message).toContain('one per named model')
    expect(peer.calls).toEqual({ binary: 1 })
    release()
    expect((await held).status).toBe(200)
    const admitted = await detect(app, ['attribution', 'binary'])
    expect(admitted.status).toBe(200)
  })
})
