import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeBinaryInferRequest, encodeBytesTensor, InferResponse, INPUT_STATISTICS_OUTPUT } from '@genimage/shared'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runnerConfigFromEnv } from '../src/config.ts'
import { type RunningRunner, startRunner } from '../src/server/start-runner.ts'
import { writeBrightnessModel } from './brightness-model.ts'

let dir: string
let staging: string
let runner: RunningRunner

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-watch-'))
  staging = await mkdtemp(join(tmpdir(), 'genimage-staging-'))
  await writeBrightnessModel(join(dir, 'brightness'))
  await writeBrightnessModel(join(staging, 'late'), { name: 'late', trainedOn: 'nothing real: a test statistic' })
  // Rescans happen when the test asks (rescanModels), so nothing here depends on timing.
  const config = runnerConfigFromEnv({ RUNNER_PORT: '0', MODEL_DIR: dir, EXECUTION_PROVIDERS: 'cpu', MAX_BATCH_SIZE: '16', MAX_QUEUE_DELAY_MS: '400' })
  runner = await startRunner(config, { log: () => {}, modelRescanMs: 3_600_000 })
})
afterAll(async () => {
  await runner?.close()
  await rm(dir, { recursive: true, force: true })
  await rm(staging, { recursive: true, force: true })
})

const served = async () =>
  ((await (await fetch(`${runner.url}/v2/repository/index`, { method: 'POST' })).json()) as { name: string }[]).map((m) => m.name).sort()

const white = () =>
  sharp({ create: { width: 30, height: 20, channels: 3, background: '#ffffff' } })
    .png()
    .toBuffer()

const infer = async (model: string) => {
  const tensor = encodeBytesTensor([await white()])
  const { body, headers } = encodeBinaryInferRequest(
    { inputs: [{ name: 'image_bytes', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: tensor.byteLength } }] },
    [tensor],
  )
  return fetch(`${runner.url}/v2/models/${model}/infer`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers })
}

describe('model folders added and removed while the runner runs', () => {
  it('serves a folder copied in after start, but not while its model file is half written', async () => {
    expect(await served()).toEqual(['brightness'])
    const target = join(dir, 'late')
    const onnx = await readFile(join(staging, 'late', 'model.onnx'))
    await cp(join(staging, 'late', 'card.json'), join(target, 'card.json'))
    await writeFile(join(target, 'model.onnx'), onnx.subarray(0, Math.floor(onnx.length / 2)))
    await runner.rescanModels()
    expect(await served()).toEqual(['brightness'])
    expect((await fetch(`${runner.url}/v2/models/late`)).status).toBe(404)
    expect(runner.repository.problems.map((p) => p.reason).join()).toMatch(/sha256/)

    await writeFile(join(target, 'model.onnx'), onnx)
    await runner.rescanModels()
    expect(await served()).toEqual(['brightness', 'late'])
    expect(runner.repository.problems).toEqual([])
    const res = await infer('late')
    expect(res.status).toBe(200)
    const answer = InferResponse.parse(await res.json())
    expect(answer.model_name).toBe('late')
    // A white image: every channel's mean is 1 and its spread 0, as the model saw it.
    const statistics = answer.outputs.find((o) => o.name === INPUT_STATISTICS_OUTPUT)
    expect(statistics?.shape).toEqual([1, 6])
    for (const [i, value] of (statistics?.data ?? []).entries()) expect(value).toBeCloseTo(i < 3 ? 1 : 0, 4)
  })

  it('answers a request in flight on a removed folder, then stops serving it', async () => {
    const inflight = infer('brightness')
    while (!/genimage_runner_queue_depth\{model="brightness"\} 1\n/.test(await (await fetch(`${runner.url}/metrics`)).text())) {
      await new Promise((r) => setTimeout(r, 10))
    }
    await rm(join(dir, 'brightness'), { recursive: true })
    const rescan = runner.rescanModels()
    const answered = await inflight
    expect(answered.status).toBe(200)
    await rescan
    expect(await served()).toEqual(['late'])
    const after = await infer('brightness')
    expect(after.status).toBe(404)
    expect(await after.json()).toMatchObject({ code: 'model_not_found' })
  })
})
