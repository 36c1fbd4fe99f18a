import { DetectResponse, ErrorResponse, ModelsResponse } from '@genimage/shared'
import { describe, expect, it } from 'vitest'
import { edgeWith, form, JPEG_8x8, oipPeer, PNG_8x8, pngHeaderBomb } from './fixtures.ts'

const post = (app: { request: (path: string, init: RequestInit) => Response | Promise<Response> }, body: FormData | string, headers?: Record<string, string>) =>
  app.request('/v1/detect', { method: 'POST', body, ...(headers ? { headers } : {}) })

describe('POST /v1/detect', () => {
  it('scores a JPEG and a PNG in upload order and records one row per image', async () => {
    const { app, rows } = await edgeWith({ r1: oipPeer() })
    const res = await post(
      app,
      form([
        { name: 'image', value: JPEG_8x8, filename: 'a.jpg' },
        { name: 'image', value: PNG_8x8, filename: 'b.png' },
      ]),
    )
    expect(res.status).toBe(200)
    const body = DetectResponse.parse(await res.json())
    expect(body.model).toEqual({
      name: 'fixture',
      version: '1',
      training_data: 'not recorded in the model card: treat this model as untested on your images',
      docs: '/v1/models/fixture',
    })
    expect(body.images.map((i) => i.filename)).toEqual(['a.jpg', 'b.png'])
    const sum = (b: Uint8Array) => (b.reduce((s, x) => s + x, 0) % 1000) / 1000
    expect(body.images[0]?.ai_generated).toBeCloseTo(sum(JPEG_8x8), 5)
    expect(body.images[1]?.ai_generated).toBeCloseTo(sum(PNG_8x8), 5)
    for (const image of body.images) expect(image.verdict).toBe(image.ai_generated >= 0.5 ? 'ai' : 'real')
    const recorded = await rows()
    expect(recorded.map((r) => r.imageSha256).sort()).toEqual(body.images.map((i) => i.sha256).sort())
    expect(recorded.every((r) => r.requestId === body.id && r.modelName === 'fixture')).toBe(true)
    expect(res.headers.get('x-request-id')).toBe(body.id)
  })

  it('hashes the uploaded bytes with sha256', async () => {
    const { app } = await edgeWith({ r1: oipPeer() })
    const res = await post(app, form([{ name: 'image', value: PNG_8x8 }]))
    const body = DetectResponse.parse(await res.json())
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', PNG_8x8))
    expect(body.images[0]?.sha256).toBe(Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''))
  })

  const rejects = async (
    peers: Parameters<typeof edgeWith>[0],
    body: FormData | string,
    status: number,
    code: string,
    config = {},
    headers?: Record<string, string>,
  ) => {
    const { app, rows } = await edgeWith(peers, config)
    const res = await post(app, body, headers)
    expect(res.status).toBe(status)
    const error = ErrorResponse.parse(await res.json())
    expect(error.error.code).toBe(code)
    expect(await rows()).toHaveLength(0)
    return error
  }

  it('answers 415 unsupported_media_type for bytes that are not an image, whatever the declared type', async () => {
    const text = new TextEncoder().encode('just some text, not an image')
    const error = await rejects({ r1: oipPeer() }, form([{ name: 'image', value: text, filename: 'x.jpg' }]), 415, 'unsupported_media_type')
    expect(error.error.image).toBe(0)
  })

  it('answers 415 for a body that is not multipart', async () => {
    await rejects({ r1: oipPeer() }, '{"image":"x"}', 415, 'unsupported_media_type', {}, { 'content-type': 'application/json' })
  })

  it('answers 400 invalid_request, saying why, for a multipart body that cannot be read', async () => {
    const cut = '--b\r\ncontent-disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nnot the end'
    const error = await rejects({ r1: oipPeer() }, cut, 400, 'invalid_request', {}, { 'content-type': 'multipart/form-data; boundary=b' })
    expect(error.error.message).toMatch(/ends before the closing boundary/)
    await rejects({ r1: oipPeer() }, cut, 400, 'invalid_request', {}, { 'content-type': 'multipart/form-data' })
    const image = await rejects({ r1: oipPeer() }, form([{ name: 'image', value: 'a text field, not a file' }]), 400, 'invalid_request')
    expect(image.error.message).toMatch(/must be a file part/)
  })

  it('answers 400 missing_image for a form without an image part or with an empty one', async () => {
    await rejects({ r1: oipPeer() }, form([{ name: 'model', value: 'fixture' }]), 400, 'missing_image')
    await rejects({ r1: oipPeer() }, form([{ name: 'image', value: new Uint8Array(0) }]), 400, 'missing_image')
  })

  it('answers 413 for a body over the byte limit', async () => {
    const big = new Uint8Array(4096)
    big.set(JPEG_8x8)
    await rejects({ r1: oipPeer() }, form([{ name: 'image', value: big }]), 413, 'payload_too_large', { maxRequestBytes: 1024 })
  })

  it('answers 413 for a chunked body that grows past the limit, without a declared length', async () => {
    const big = new Uint8Array(8192)
    big.set(JPEG_8x8)
    const encoded = new Response(form([{ name: 'image', value: big }]))
    const { app, rows } = await edgeWith({ r1: oipPeer() }, { maxRequestBytes: 2048 })
    const res = await app.request('/v1/detect', {
      method: 'POST',
      body: encoded.body,
      headers: { 'content-type': encoded.headers.get('content-type') ?? '' },
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
    expect(ErrorResponse.parse(await res.json()).error.code).toBe('payload_too_large')
    expect(await rows()).toHaveLength(0)
  })

  it('answers 422 image_too_large for a 100000×100000 PNG header without calling a runner', async () => {
    const peer = oipPeer()
    const started = performance.now()
    const error = await rejects({ r1: peer }, form([{ name: 'image', value: pngHeaderBomb() }]), 422, 'image_too_large')
    expect(performance.now() - started).toBeLessThan(1000)
    expect(error.error.message).toMatch(/100000×100000/)
    expect(peer.calls.infer).toBe(0)
  })

  it("passes the runner's corrupt_image through with the index of the bad image", async () => {
    const peer = oipPeer({ failInfer: { status: 422, body: { error: 'premature end of JPEG', code: 'corrupt_image', image: 1 } } })
    const error = await rejects(
      { r1: peer },
      form([
        { name: 'image', value: JPEG_8x8 },
        { name: 'image', value: JPEG_8x8.slice(0, 120) },
      ]),
      422,
      'corrupt_image',
    )
    expect(error.error.image).toBe(1)
  })

  it('answers 404 model_not_found for a model no runner serves', async () => {
    const error = await rejects(
      { r1: oipPeer() },
      form([
        { name: 'image', value: JPEG_8x8 },
        { name: 'model', value: 'nope' },
      ]),
      404,
      'model_not_found',
    )
    expect(error.error.message).toMatch(/nope/)
  })

  it('answers 503 no_runner_available when no runner is ready', async () => {
    await rejects({ r1: 'down' }, form([{ name: 'image', value: JPEG_8x8 }]), 503, 'no_runner_available')
    await rejects({ r1: oipPeer({ ready: false }) }, form([{ name: 'image', value: JPEG_8x8 }]), 503, 'no_runner_available')
  })

  it('answers 429 queue_full with Retry-After beyond its in-flight cap, and serves again once requests finish', async () => {
    let release = () => {}
    const hold = new Promise<void>((r) => {
      release = r
    })
    const { app, rows } = await edgeWith({ r1: oipPeer({ hold }) }, { maxInflightDetects: 2 })
    const held = [post(app, form([{ name: 'image', value: JPEG_8x8 }])), post(app, form([{ name: 'image', value: PNG_8x8 }]))]
    await new Promise((r) => setTimeout(r, 50))
    const refused = await post(app, form([{ name: 'image', value: JPEG_8x8 }]))
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(ErrorResponse.parse(await refused.json()).error.code).toBe('queue_full')
    release()
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200])
    expect((await post(app, form([{ name: 'image', value: JPEG_8x8 }]))).status).toBe(200)
    expect(await rows()).toHaveLength(3)
  })

  it('retries once on another runner when the chosen one is unreachable', async () => {
    const peers: Parameters<typeof edgeWith>[0] = { r1: oipPeer(), r2: oipPeer() }
    const { app, rows } = await edgeWith(peers)
    await app.request('/v1/models')
    peers.r1 = 'down'
    for (let i = 0; i < 3; i++) {
      const res = await post(app, form([{ name: 'image', value: JPEG_8x8 }]))
      expect(res.status).toBe(200)
    }
    expect(await rows()).toHaveLength(3)
  })
})

describe('GET /v1/models and /healthz', () => {
  it('lists served models with the number of runners serving each', async () => {
    const { app } = await edgeWith({ r1: oipPeer({ models: ['a', 'b'] }), r2: oipPeer({ models: ['b'] }) })
    const body = ModelsResponse.parse(await (await app.request('/v1/models')).json())
    expect(body.models.map((m) => [m.name, m.runners])).toEqual([
      ['a', 1],
      ['b', 2],
    ])
    expect(body.hint).toBeUndefined()
  })

  it('says how to get a model when none is served', async () => {
    const { app } = await edgeWith({ r1: oipPeer({ models: [] }) })
    const body = ModelsResponse.parse(await (await app.request('/v1/models')).json())
    expect(body.models).toHaveLength(0)
    expect(body.hint).toMatch(/npx genimage/)
  })

  it('reports degraded health with 503 when no runner is ready', async () => {
    const ok = await edgeWith({ r1: oipPeer() })
    expect((await ok.app.request('/healthz')).status).toBe(200)
    const down = await edgeWith({ r1: 'down' })
    const res = await down.app.request('/healthz')
    expect(res.status).toBe(503)
    expect(await res.json()).toMatchObject({ status: 'degraded', runners: { total: 1, ready: 0 } })
  })

  it('answers unknown routes with the JSON error shape', async () => {
    const { app } = await edgeWith({ r1: oipPeer() })
    const res = await app.request('/v1/nothing')
    expect(res.status).toBe(404)
    expect(ErrorResponse.parse(await res.json()).error.code).toBe('not_found')
  })
})
