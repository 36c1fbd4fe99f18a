import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeBinaryInferRequest, encodeBytesTensor, InferResponse } from '@genimage/shared'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { runnerConfigFromEnv } from '../src/config.ts'
import { loadModelRepository, type ModelRepository } from '../src/repository/model-repository.ts'
import { createRunnerApp } from '../src/server/runner-app.ts'
import type { LogEntry } from '../src/server/request-log.ts'
import { startRunner } from '../src/server/start-runner.ts'
import { sigmoid, writeBrightnessModel } from './brightness-model.ts'

let dir: string
let repository: ModelRepository
let white: Buffer

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-serving-'))
  await writeBrightnessModel(join(dir, 'brightness'))
  repository = await loadModelRepository(dir, { providers: ['cpu'], maxPixels: 1_000_000 })
  white = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#ffffff' } })
    .png()
    .toBuffer()
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const inferBody = (images: Uint8Array[]) => {
  const tensor = encodeBytesTensor(images)
  return encodeBinaryInferRequest(
    { inputs: [{ name: 'image_bytes', datatype: 'BYTES', shape: [images.length], parameters: { binary_data_size: tensor.byteLength } }] },
    [tensor],
  )
}

describe('runner serving: batching, backpressure, metrics, request ids', () => {
  it('batches concurrent requests and answers 429 queue_full with Retry-After beyond the queue bound', async () => {
    const logs: LogEntry[] = []
    const { app, close } = createRunnerApp({
      name: 't',
      version: '0',
      repository,
      maxBodyBytes: 1_000_000,
      serving: { batch: { maxBatchSize: 4, maxQueueDelayMs: 150, maxQueueSize: 3 }, decodeConcurrency: 2 },
      log: (e) => logs.push(e),
    })
    onTestFinished(close)
    const send = (images: Uint8Array[], id?: string) => {
      const { body, headers } = inferBody(images)
      return app.request('/v2/models/brightness/infer', { method: 'POST', body, headers: { ...headers, ...(id ? { 'x-request-id': id } : {}) } })
    }
    const accepted = [send([white, white], 'first'), send([white])]
    await new Promise((r) => setTimeout(r, 40))
    const refused = await send([white])
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(await refused.json()).toMatchObject({ code: 'queue_full' })
    const answers = await Promise.all(accepted)
    expect(answers.map((r) => r.status)).toEqual([200, 200])
    expect(answers[0]?.headers.get('x-request-id')).toBe('first')
    const scores = InferResponse.parse(await answers[0]?.json()).outputs[0]?.data ?? []
    expect(scores[1]).toBeCloseTo(sigmoid(2), 4)
    expect(scores[3]).toBeCloseTo(sigmoid(2), 4)
    expect((await send([white])).status).toBe(200)

    const text = await (await app.request('/metrics')).text()
    expect(text).toContain('# TYPE genimage_runner_batch_size histogram')
    expect(text).toMatch(/genimage_runner_batch_size_bucket\{le="4",model="brightness"\} 2\n/)
    expect(text).toMatch(/genimage_runner_batch_size_sum\{model="brightness"\} 4\n/)
    expect(text).toMatch(/genimage_runner_requests_total\{code="ok",model="brightness"\} 3\n/)
    expect(text).toMatch(/genimage_runner_requests_total\{code="queue_full",model="brightness"\} 1\n/)
    expect(text).toMatch(/genimage_runner_errors_total\{code="queue_full"\} 1\n/)
    expect(text).toMatch(/genimage_runner_queue_depth\{model="brightness"\} 0\n/)
    expect(text).toMatch(/genimage_runner_request_duration_seconds_count\{model="brightness"\} 4\n/)
    const first = logs.find((l) => l.request_id === 'first')
    expect(first).toMatchObject({ msg: 'request', status: 200, model: 'brightness', images: 2, path: '/v2/models/brightness/infer' })
    expect(logs.find((l) => l.code === 'queue_full')).toMatchObject({ status: 429, level: 'warn' })
    expect(logs.filter((l) => /inference worker failed/.test(l.msg))).toEqual([])
  })

  it('replaces a hostile request id instead of logging it', async () => {
    const logs: LogEntry[] = []
    const { app, close } = createRunnerApp({ name: 't', version: '0', repository, maxBodyBytes: 1_000_000, log: (e) => logs.push(e) })
    onTestFinished(close)
    const res = await app.request('/v2/models/nope/infer', { method: 'POST', body: '{}', headers: { 'x-request-id': 'evil" id '.repeat(40) } })
    expect(res.status).toBe(404)
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(logs[0]?.request_id).toBe(res.headers.get('x-request-id'))
  })
})

describe('runner shutdown', () => {
  it('turns not-ready, refuses new work with 503, finishes in-flight requests, then closes', async () => {
    const logs: LogEntry[] = []
    const config = runnerConfigFromEnv({ RUNNER_PORT: '0', MODEL_DIR: dir, EXECUTION_PROVIDERS: 'cpu', MAX_BATCH_SIZE: '16', MAX_QUEUE_DELAY_MS: '400' })
    let gaveBack = false
    const runner = await startRunner(config, {
      log: (e) => logs.push(e),
      claimedWork: {
        giveBack: async () => {
          gaveBack = true
        },
      },
    })
    const post = () => {
      const { body, headers } = inferBody([white])
      return fetch(`${runner.url}/v2/models/brightness/infer`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers })
    }
    const inflight = post()
    while (!/genimage_runner_queue_depth\{model="brightness"\} 1\n/.test(await (await fetch(`${runner.url}/metrics`)).text())) {
      await new Promise((r) => setTimeout(r, 10))
    }
    let closed = false
    const closing = runner.close().then(() => (closed = true))
    expect((await fetch(`${runner.url}/v2/health/ready`)).status).toBe(503)
    const late = await post()
    expect(late.status).toBe(503)
    expect(await late.json()).toMatchObject({ code: 'no_runner_available' })
    expect(closed).toBe(false)
    const answered = await inflight
    expect(answered.status).toBe(200)
    await closing
    expect(gaveBack).toBe(true)
    await expect(fetch(`${runner.url}/v2/health/live`)).rejects.toThrow()
    expect(logs.map((l) => l.msg)).toContain('runner stopped')
  })
})
