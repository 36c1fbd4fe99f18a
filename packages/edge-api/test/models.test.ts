import { DetectResponse, ErrorResponse, ModelDetail, ModelsResponse } from '@genimage/shared'
import { describe, expect, it } from 'vitest'
import { edgeWith, form, JPEG_8x8, oipPeer } from './fixtures.ts'

describe('GET /v1/models: where each runner runs a model', () => {
  it('names the execution provider of every runner serving a model, and the adapter of a WebGPU one', async () => {
    const { app } = await edgeWith({
      gpu: oipPeer({ models: ['a', 'b'], execution: { provider: 'webgpu', adapter: 'NVIDIA H200' } }),
      cpu: oipPeer({ models: ['b'], execution: { provider: 'cpu' } }),
    })
    const body = ModelsResponse.parse(await (await app.request('/v1/models')).json())
    expect(body.models.map((m) => [m.name, m.served_by])).toEqual([
      ['a', [{ runner: 'http://gpu', provider: 'webgpu', adapter: 'NVIDIA H200' }]],
      [
        'b',
        [
          { runner: 'http://gpu', provider: 'webgpu', adapter: 'NVIDIA H200' },
          { runner: 'http://cpu', provider: 'cpu' },
        ],
      ],
    ])
  })

  it('says `unknown` for a runner whose metadata does not say (a Triton or KServe server)', async () => {
    const { app } = await edgeWith({ triton: oipPeer({ models: ['a'] }) })
    const body = ModelsResponse.parse(await (await app.request('/v1/models')).json())
    expect(body.models[0]?.served_by).toEqual([{ runner: 'http://triton', provider: 'unknown' }])
  })
})

describe('GET /v1/models/:name: one model, linked from every answer', () => {
  it("answers a served model's summary, whole card and runners; /v1/models and detect answers link to it", async () => {
    const { app } = await edgeWith({ gpu: oipPeer({ models: ['a'], execution: { provider: 'webgpu' } }) })
    const res = await app.request('/v1/models/a')
    expect(res.status).toBe(200)
    const model = ModelDetail.parse(await res.json())
    expect(model).toMatchObject({
      name: 'a',
      version: '1',
      runners: 1,
      served_by: [{ runner: 'http://gpu', provider: 'webgpu' }],
      docs: '/v1/models/a',
      card: null,
    })
    const listed = ModelsResponse.parse(await (await app.request('/v1/models')).json())
    expect(listed.models.map((m) => m.docs)).toEqual(['/v1/models/a'])
    const detected = DetectResponse.parse(await (await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8 }]) })).json())
    expect(detected.model.docs).toBe('/v1/models/a')
    expect((await app.request(detected.model.docs ?? '')).status).toBe(200)
  })

  it('answers 404 not_found for a name no runner serves', async () => {
    const { app } = await edgeWith({ r1: oipPeer({ models: ['a'] }) })
    const res = await app.request('/v1/models/nope')
    expect(res.status).toBe(404)
    const error = ErrorResponse.parse(await res.json()).error
    expect(error.code).toBe('not_found')
    expect(error.message).toContain('"nope"')
  })
})
