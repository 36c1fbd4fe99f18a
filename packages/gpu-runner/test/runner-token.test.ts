import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeBinaryInferRequest, encodeBytesTensor, InferError, InferResponse } from '@genimage/shared'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runnerConfigFromEnv } from '../src/config.ts'
import { loadModelRepository } from '../src/repository/model-repository.ts'
import { createRunnerApp } from '../src/server/runner-app.ts'
import { type RunningRunner, startRunner } from '../src/server/start-runner.ts'
import { writeBrightnessModel } from './brightness-model.ts'

const TOKEN = 'runner-token-for-tests-0123456789'
let dir: string
let runner: RunningRunner

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-runner-token-'))
  await writeBrightnessModel(join(dir, 'models', 'brightness'))
  const config = runnerConfigFromEnv({
    RUNNER_PORT: '0',
    MODEL_DIR: join(dir, 'models'),
    EXECUTION_PROVIDERS: 'cpu',
    INFERENCE_WORKER: '0',
    RUNNER_TOKEN: TOKEN,
  })
  runner = await startRunner(config, { log: () => {}, modelRescanMs: 60_000 })
})
afterAll(async () => {
  await runner?.close()
  await rm(dir, { recursive: true, force: true })
})

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
async function inferRequest(headers: Record<string, string>): Promise<Response> {
  const image = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } })
    .png()
    .toBuffer()
  const tensor = encodeBytesTensor([image])
  const encoded = encodeBinaryInferRequest(
    { inputs: [{ name: 'image_bytes', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: tensor.byteLength } }] },
    [tensor],
  )
  return fetch(`${runner.url}/v2/models/brightness/infer`, { method: 'POST', body: encoded.body, headers: { ...encoded.headers, ...headers } })
}

describe('RUNNER_TOKEN on a runner serving over loopback', () => {
  it('answers liveness and readiness without the token', async () => {
    for (const path of ['/v2/health/live', '/v2/health/ready'])
      expect({ path, status: (await fetch(`${runner.url}${path}`)).status }).toEqual({ path, status: 200 })
  })

  it('refuses every other route without the token or with a wrong one: 401 in the OIP error shape', async () => {
    const attempts: [string, RequestInit][] = [
      ['/v2', {}],
      ['/v2/models', {}],
      ['/v2/models/brightness', {}],
      ['/v2/models/brightness/ready', {}],
      ['/v2/repository/index', { method: 'POST', body: '{}' }],
      ['/metrics', {}],
      ['/v2/models/brightness', { headers: bearer(`${TOKEN}x`) }],
      ['/v2/models/brightness', { headers: bearer(TOKEN.slice(0, -1)) }],
      ['/v2/models/brightness', { headers: { 'x-api-key': TOKEN } }],
      ['/v2/models/brightness', { headers: { authorization: TOKEN } }],
    ]
    for (const [path, init] of attempts) {
      const res = await fetch(`${runner.url}${path}`, init)
      expect({ path, status: res.status, code: InferError.parse(await res.json()).code }).toEqual({ path, status: 401, code: 'unauthorized' })
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
    }
    const refused = await inferRequest({})
    expect([refused.status, InferError.parse(await refused.json()).code]).toEqual([401, 'unauthorized'])
  })

  it('serves with the token', async () => {
    const models = await fetch(`${runner.url}/v2/models`, { headers: bearer(TOKEN) })
    expect(models.status).toBe(200)
    const scored = await inferRequest(bearer(TOKEN))
    expect(scored.status).toBe(200)
    const body = InferResponse.parse(await scored.json())
    expect(body.outputs.find((o) => o.name === 'probabilities')?.shape).toEqual([1, 2])
  })

  it('refuses a token shorter than 16 characters at start-up, naming the variable', () => {
    expect(() => runnerConfigFromEnv({ RUNNER_TOKEN: 'short' })).toThrow(/RUNNER_TOKEN/)
    expect(runnerConfigFromEnv({}).token).toBeUndefined()
  })
})

describe('RUNNER_METRICS_WITHOUT_TOKEN', () => {
  it('leaves /metrics open for a Prometheus without credentials, and nothing else', async () => {
    const repository = await loadModelRepository(join(dir, 'no-models'), { providers: ['cpu'], maxPixels: 1 })
    const config = runnerConfigFromEnv({ RUNNER_TOKEN: TOKEN, RUNNER_METRICS_WITHOUT_TOKEN: 'true' })
    const runnerApp = createRunnerApp({
      name: 't',
      version: '0',
      repository,
      maxBodyBytes: 1024,
      log: () => {},
      token: config.token,
      metricsWithoutToken: config.metricsWithoutToken,
    })
    try {
      expect((await runnerApp.app.request('/metrics')).status).toBe(200)
      expect((await runnerApp.app.request('/v2/models')).status).toBe(401)
      expect((await runnerApp.app.request('/v2/models', { headers: bearer(TOKEN) })).status).toBe(200)
    } finally {
      await runnerApp.close()
    }
  })
})
