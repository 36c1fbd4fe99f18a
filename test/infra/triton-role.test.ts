import { createServer, type Server } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DetectResponse, InferResponse, ModelCard, ModelIndex, ModelMetadata } from '@genimage/shared'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGenimage, type Started } from '../support/processes.ts'
import { detectForm, type PoolStack, shippedPhotos, startPoolStack } from '../support/pool-stack.ts'

/**
 * The Open Inference Protocol v2 routes a Triton or KServe server offers. Anything else (the runner's
 * `/metrics`, `GET /v2/models`, the `card` extension in metadata) is withheld, so the edge below sees the
 * project's runner exactly as it would see Triton serving the same ONNX model behind a preprocessing ensemble.
 */
const TRITON_ROUTES: [string, RegExp][] = [
  ['GET', /^\/v2\/health\/(live|ready)$/],
  ['GET', /^\/v2$/],
  ['POST', /^\/v2\/repository\/index$/],
  ['GET', /^\/v2\/models\/[^/]+$/],
  ['GET', /^\/v2\/models\/[^/]+\/ready$/],
  ['POST', /^\/v2\/models\/[^/]+\/infer$/],
]

let stack: PoolStack
let proxy: Server
let proxyUrl: string
let tritonEdge: Started
const seen: string[] = []

/** A loopback proxy that forwards only Triton's routes and strips what Triton would not send. */
function tritonShaped(target: string): Promise<Server> {
  const server = createServer(async (req, res) => {
    const method = req.method ?? 'GET'
    const path = (req.url ?? '/').split('?')[0] as string
    seen.push(`${method} ${path}`)
    if (!TRITON_ROUTES.some(([m, re]) => m === method && re.test(path))) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `Triton has no ${method} ${path}` }))
      return
    }
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const headers: Record<string, string> = {}
    for (const h of ['content-type', 'inference-header-content-length']) if (req.headers[h]) headers[h] = String(req.headers[h])
    const upstream = await fetch(`${target}${req.url}`, { method, headers, ...(method === 'POST' ? { body: Buffer.concat(chunks) } : {}) })
    let text = await upstream.text()
    if (method === 'GET' && /^\/v2\/models\/[^/]+$/.test(path) && upstream.ok) {
      const { card: _card, ...tritonMetadata } = JSON.parse(text)
      text = JSON.stringify(tritonMetadata)
    }
    res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text)
  })
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)))
}

beforeAll(async () => {
  stack = await startPoolStack({ runners: 1, prefix: 'genimage-triton-' })
  proxy = await tritonShaped(stack.runners[0]!.url)
  const address = proxy.address()
  proxyUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  tritonEdge = await startGenimage('edge', { PORT: '0', RUNNER_URLS: proxyUrl, DATABASE_URL: `file:${join(stack.work, 'triton.db')}` })
})
afterAll(async () => {
  await tritonEdge?.stop()
  await new Promise((r) => proxy?.close(r))
  await stack?.stop()
})

describe('a Triton-shaped OIP v2 server in the pool', () => {
  it('serves /v1/detect through only the OIP routes Triton has, with the same scores as the native runner', async () => {
    const photo = (await shippedPhotos(1))[0] as Buffer
    const jpeg = new Uint8Array(await sharp(photo).resize(200, 150).jpeg().toBuffer())
    const viaTriton = await fetch(`${tritonEdge.url}/v1/detect`, { method: 'POST', body: detectForm([{ bytes: jpeg }]) })
    expect(viaTriton.status).toBe(200)
    const tritonBody = DetectResponse.parse(await viaTriton.json())
    const native = DetectResponse.parse(await (await fetch(`${stack.edge.url}/v1/detect`, { method: 'POST', body: detectForm([{ bytes: jpeg }]) })).json())
    expect(tritonBody.model.name).toBe('npr-residual-handmade')
    const runnerLine = stack.runners[0]
      ?.logs()
      .split('\n')
      .find((l) => l.includes(`"request_id":"${native.id}"`))
    expect(JSON.parse(runnerLine ?? '{}')).toMatchObject({ component: 'runner', msg: 'request', status: 200, model: 'npr-residual-handmade', images: 1 })
    expect(tritonBody.images[0]?.ai_generated).toBeCloseTo(native.images[0]?.ai_generated ?? -1, 6)
    expect(Object.keys(tritonBody.images[0]?.scores ?? {}).sort()).toEqual(['ai', 'nature'])
    const routes = new Set(seen)
    expect([...routes].every((r) => TRITON_ROUTES.some(([m, re]) => r.startsWith(`${m} `) && re.test(r.slice(m.length + 1))))).toBe(true)
    expect(routes).toContain('POST /v2/models/npr-residual-handmade/infer')
  })

  it('answers the raw ONNX contract Triton serves: FP32 `image` in, the same probabilities as the BYTES path', async () => {
    const index = ModelIndex.shape.models.parse(await (await fetch(`${proxyUrl}/v2/repository/index`, { method: 'POST', body: '{}' })).json())
    expect(index.map((m) => m.name)).toEqual(['npr-residual-handmade'])
    const metadata = ModelMetadata.parse(await (await fetch(`${proxyUrl}/v2/models/npr-residual-handmade`)).json())
    expect(metadata.card).toBeUndefined()
    const fp32 = metadata.inputs.find((i) => i.datatype === 'FP32')
    expect(fp32?.shape).toEqual([-1, 3, 64, 64])
    const card = ModelCard.parse(JSON.parse(await readFile(join(stack.work, 'models/npr-residual-handmade/card.json'), 'utf8')))

    const photo = (await shippedPhotos(2))[1] as Buffer
    const { data: rgb } = await sharp(photo).resize(64, 64, { fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true })
    const png = await sharp(rgb, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toBuffer()
    const plane = 64 * 64
    const tensor = new Array<number>(3 * plane)
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < plane; i++)
        tensor[c * plane + i] = ((rgb[i * 3 + c] as number) / 255 - (card.input.mean[c] as number)) / (card.input.std[c] as number)
    }
    const asTensor = await fetch(`${proxyUrl}/v2/models/npr-residual-handmade/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: fp32?.name, datatype: 'FP32', shape: [1, 3, 64, 64], data: tensor }] }),
    })
    expect(asTensor.status).toBe(200)
    const fromTensor = InferResponse.parse(await asTensor.json()).outputs[0]?.data as number[]
    const asBytes = await fetch(`${proxyUrl}/v2/models/npr-residual-handmade/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'image_bytes', datatype: 'BYTES', shape: [1], data: [png.toString('base64')] }] }),
    })
    const fromBytes = InferResponse.parse(await asBytes.json()).outputs[0]?.data as number[]
    expect(fromTensor).toHaveLength(2)
    expect(fromTensor[1]).toBeCloseTo(fromBytes[1] as number, 5)
    expect((fromTensor[0] as number) + (fromTensor[1] as number)).toBeCloseTo(1, 6)
  })
})
