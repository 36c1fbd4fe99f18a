import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeBinaryInferRequest, encodeBytesTensor, InferResponse, ModelMetadata } from '@genimage/shared'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadModelRepository, type ModelRepository } from '../src/repository/model-repository.ts'
import { createRunnerApp, type RunnerApp } from '../src/server/runner-app.ts'
import { sigmoid, writeBrightnessModel } from './brightness-model.ts'

let dir: string
let repository: ModelRepository
let runnerApp: RunnerApp
let app: RunnerApp['app']

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-runner-'))
  await writeBrightnessModel(join(dir, 'brightness'))
  await writeBrightnessModel(join(dir, 'brightness-nhwc'), { name: 'brightness-nhwc' }, 'NHWC')
  const tampered = join(dir, 'tampered')
  await writeBrightnessModel(tampered, { name: 'tampered' })
  await writeFile(join(tampered, 'model.onnx'), new Uint8Array([8, 1]))
  await writeBrightnessModel(join(dir, 'bad-card'), { name: 'Bad Name!' })
  repository = await loadModelRepository(dir, { providers: ['cpu'], maxPixels: 1_000_000 })
  runnerApp = createRunnerApp({ name: 'test', version: '0', repository, maxBodyBytes: 1_000_000 })
  app = runnerApp.app
})
afterAll(async () => {
  await runnerApp?.close()
  await rm(dir, { recursive: true, force: true })
})

const infer = (model: string, images: Uint8Array[]) => {
  const tensor = encodeBytesTensor(images)
  const { body, headers } = encodeBinaryInferRequest(
    { inputs: [{ name: 'image_bytes', datatype: 'BYTES', shape: [images.length], parameters: { binary_data_size: tensor.byteLength } }] },
    [tensor],
  )
  return app.request(`/v2/models/${model}/infer`, { method: 'POST', body, headers })
}
const white = () =>
  sharp({ create: { width: 30, height: 20, channels: 3, background: '#ffffff' } })
    .png()
    .toBuffer()
const black = () =>
  sharp({ create: { width: 30, height: 20, channels: 3, background: '#000000' } })
    .jpeg()
    .toBuffer()

describe('model repository', () => {
  it('serves valid folders and reports why the others were refused', () => {
    expect([...repository.models.keys()].sort()).toEqual(['brightness', 'brightness-nhwc'])
    const reasons = Object.fromEntries(repository.problems.map((p) => [p.dir.split('/').pop(), p.reason]))
    expect(reasons.tampered).toMatch(/sha256/)
    expect(reasons['bad-card']).toMatch(/card.json is invalid at name/)
  })

  it('treats a missing model directory as empty', async () => {
    const empty = await loadModelRepository(join(dir, 'absent'), { providers: ['cpu'], maxPixels: 1 })
    expect(empty.models.size).toBe(0)
  })
})

describe('OIP v2 endpoints', () => {
  it('answers live, ready, the model index and metadata with the card and the provider it runs on', async () => {
    expect(await (await app.request('/v2/health/live')).json()).toEqual({ live: true })
    expect(await (await app.request('/v2/health/ready')).json()).toEqual({ ready: true })
    const index = await (await app.request('/v2/repository/index', { method: 'POST' })).json()
    expect(index.map((m: { name: string }) => m.name).sort()).toEqual(['brightness', 'brightness-nhwc'])
    const meta = ModelMetadata.parse(await (await app.request('/v2/models/brightness')).json())
    expect(meta.card?.labels).toEqual(['nature', 'ai'])
    expect(meta.execution).toEqual({ provider: 'cpu' })
    expect(meta.inputs.map((i) => [i.name, i.datatype])).toEqual([
      ['image_bytes', 'BYTES'],
      ['image', 'FP32'],
    ])
    expect((await app.request('/v2/models/brightness/ready')).status).toBe(200)
    expect((await app.request('/v2/models/nope/ready')).status).toBe(503)
  })

  it('scores encoded images through the model in one batch', async () => {
    for (const model of ['brightness', 'brightness-nhwc']) {
      const res = await infer(model, [await white(), await black()])
      expect(res.status).toBe(200)
      const out = InferResponse.parse(await res.json()).outputs[0]
      expect(out?.shape).toEqual([2, 2])
      const data = out?.data ?? []
      expect(data[1]).toBeCloseTo(sigmoid(2), 4)
      expect(data[3]).toBeCloseTo(sigmoid(-2), 4)
      expect((data[0] as number) + (data[1] as number)).toBeCloseTo(1, 6)
    }
  })

  it('accepts a preprocessed FP32 tensor as JSON', async () => {
    const data = new Array(3 * 16 * 16).fill(0.5)
    const res = await app.request('/v2/models/brightness/infer', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 3, 16, 16], data }] }),
    })
    expect(res.status).toBe(200)
    expect(InferResponse.parse(await res.json()).outputs[0]?.data[1]).toBeCloseTo(sigmoid(1), 4)
  })

  it('names the bad image in a batch and its error code', async () => {
    const good = await white()
    const truncated = (await black()).subarray(0, 100)
    const res = await infer('brightness', [good, truncated])
    expect(res.status).toBe(422)
    expect(await res.json()).toMatchObject({ code: 'corrupt_image', image: 1 })
  })

  it("says what is wrong with an undecodable image in the project's words, not libvips' (issue 14)", async () => {
    const tiff = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
      .tiff()
      .toBuffer()
    for (const broken of [(await black()).subarray(0, 100), tiff.subarray(0, Math.floor(tiff.length / 2))]) {
      const res = await infer('brightness', [broken])
      const body = (await res.json()) as { code: string; error: string }
      expect({ status: res.status, code: body.code }).toEqual({ status: 422, code: 'corrupt_image' })
      expect(body.error).toBe('image could not be decoded: the file is damaged, cut short, or not what its header says')
    }
  })

  it('refuses images over the pixel limit, unknown models and malformed bodies with codes', async () => {
    const huge = await sharp({ create: { width: 1100, height: 1000, channels: 3, background: '#808080' } })
      .png()
      .toBuffer()
    expect(await (await infer('brightness', [huge])).json()).toMatchObject({ code: 'image_too_large', image: 0 })
    const missing = await infer('nope', [await white()])
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ code: 'model_not_found' })
    const garbage = await app.request('/v2/models/brightness/infer', { method: 'POST', body: 'not json' })
    expect(garbage.status).toBe(400)
    expect(await garbage.json()).toMatchObject({ code: 'invalid_request' })
    const lying = encodeBinaryInferRequest({ inputs: [{ name: 'image_bytes', datatype: 'BYTES', shape: [3], parameters: { binary_data_size: 8 } }] }, [
      encodeBytesTensor([new Uint8Array(4)]),
    ])
    const res = await app.request('/v2/models/brightness/infer', { method: 'POST', body: lying.body, headers: lying.headers })
    expect(res.status).toBe(400)
  })

  it('answers 413 payload_too_large for a body over the limit, declared or counted while streamed', async () => {
    const big = new Uint8Array(1_000_001)
    const declared = await app.request('/v2/models/brightness/infer', { method: 'POST', body: big, headers: { 'content-length': String(big.byteLength) } })
    expect(declared.status).toBe(413)
    expect(await declared.json()).toMatchObject({ code: 'payload_too_large' })
    const streamed = await app.request('/v2/models/brightness/infer', { method: 'POST', body: new Response(big).body, duplex: 'half' } as RequestInit)
    expect(streamed.status).toBe(413)
    expect(await streamed.json()).toMatchObject({ code: 'payload_too_large' })
    const fits = new Uint8Array(1_000_000)
    const declaredFits = await app.request('/v2/models/brightness/infer', {
      method: 'POST',
      body: fits,
      headers: { 'content-length': String(fits.byteLength) },
    })
    expect(await declaredFits.json()).toMatchObject({ code: 'invalid_request' })
  })
})
