import { ModelsResponse } from '@genimage/shared'
import { describe, expect, it } from 'vitest'
import { edgeWith, oipPeer } from './fixtures.ts'

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
