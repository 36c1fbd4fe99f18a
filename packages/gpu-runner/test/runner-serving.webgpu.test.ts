import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeBinaryInferRequest, encodeBytesTensor, InferResponse, ModelMetadata } from '@genimage/shared'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runnerConfigFromEnv } from '../src/config.ts'
import type { LogEntry } from '../src/server/request-log.ts'
import { startRunner } from '../src/server/start-runner.ts'
import { sigmoid, writeBrightnessModel } from './brightness-model.ts'
import { skipWebGpu, testAdapter } from './webgpu-adapter.ts'

/**
 * The runner with EXECUTION_PROVIDERS=webgpu: the model's session (on its inference worker thread) runs on WebGPU,
 * also on a software adapter, and the runner says so in its start-up line and in the model's metadata.
 */

describe.skipIf(skipWebGpu)('runner serving on webgpu (EXECUTION_PROVIDERS=webgpu)', () => {
  let dir: string
  let adapter: string

  beforeAll(async () => {
    adapter = await testAdapter()
    dir = await mkdtemp(join(tmpdir(), 'genimage-webgpu-runner-'))
    await writeBrightnessModel(join(dir, 'brightness'))
  })
  afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined))

  it('serves on webgpu when asked by name, names provider and adapter, and scores like the arithmetic says', async () => {
    const fileStarted = performance.now()
    const logs: LogEntry[] = []
    const runner = await startRunner(runnerConfigFromEnv({ RUNNER_PORT: '0', MODEL_DIR: dir, EXECUTION_PROVIDERS: 'webgpu' }), { log: (e) => logs.push(e) })
    const startMs = Math.round(performance.now() - fileStarted)
    try {
      const line = logs.find((l) => /listening on/.test(l.msg))?.msg ?? ''
      expect(line).toContain(`brightness on webgpu (${adapter}), batch ≤ 32 within 10 ms`)
      const metadata = ModelMetadata.parse(await (await fetch(`${runner.url}/v2/models/brightness`)).json())
      expect(metadata.execution).toEqual({ provider: 'webgpu', adapter })

      const white = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#ffffff' } })
        .png()
        .toBuffer()
      const tensor = encodeBytesTensor([white, white])
      const { body, headers } = encodeBinaryInferRequest(
        { inputs: [{ name: 'image_bytes', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: tensor.byteLength } }] },
        [tensor],
      )
      const inferStarted = performance.now()
      const res = await fetch(`${runner.url}/v2/models/brightness/infer`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers })
      const firstInferMs = Math.round(performance.now() - inferStarted)
      expect(res.status).toBe(200)
      const scores = InferResponse.parse(await res.json()).outputs[0]?.data ?? []
      for (const [i, expected] of [1 - sigmoid(2), sigmoid(2), 1 - sigmoid(2), sigmoid(2)].entries())
        expect(Math.abs((scores[i] ?? 0) - expected)).toBeLessThan(1e-4)
      console.log(`runner on webgpu (${adapter}): start ${startMs} ms, first infer ${firstInferMs} ms; ${line}`)
    } finally {
      await runner.close()
    }
  }, 300_000)
})
