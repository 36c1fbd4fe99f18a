import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ModelMetadata } from '@genimage/shared'
import { describeAdapter, requestWebGpuAdapter, type WebGpuAdapterInfo } from '@genimage/training/webgpu'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runnerConfigFromEnv } from '../src/config.ts'
import { createSession, EXECUTION_PROVIDERS } from '../src/inference/execution-providers.ts'
import type { LogEntry } from '../src/server/request-log.ts'
import { startRunner } from '../src/server/start-runner.ts'
import { brightnessModel, writeBrightnessModel } from './brightness-model.ts'

/**
 * Which provider the runner picks when EXECUTION_PROVIDERS is left at its default. These tests need no Vulkan
 * device: with none, or with only a software one (lavapipe), the runner must serve on `cpu` at once (no shader
 * compilation) and say why it skipped `webgpu`. On a machine with a hardware adapter, `webgpu` must win.
 */

let dir: string
let adapter: WebGpuAdapterInfo | Error

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-provider-'))
  await writeBrightnessModel(join(dir, 'brightness'))
  adapter = await requestWebGpuAdapter().then(
    (found) => found.info,
    (error: Error) => error,
  )
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const hardwareAdapter = () => !(adapter instanceof Error) && !adapter.software
/** Why `webgpu` must have been skipped here: the software adapter by name, or no adapter at all. */
const expectedSkipReason = () =>
  adapter instanceof Error
    ? /no WebGPU adapter|webgpu package/
    : new RegExp(`software adapter ${describeAdapter(adapter).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is slower than the CPU`)

describe('the default provider list (cuda, webgpu, cpu)', () => {
  it('serves on cpu within seconds when the only WebGPU adapter is a software one, or there is none, and says why', async () => {
    const started = performance.now()
    const { provider, skipped, adapter: used, session } = await createSession(brightnessModel(), EXECUTION_PROVIDERS)
    const seconds = (performance.now() - started) / 1000
    await session.release()
    if (hardwareAdapter()) {
      expect(provider).toBe('webgpu')
      return
    }
    expect(provider).toBe('cpu')
    expect(used).toBeUndefined()
    expect(skipped.find((s) => s.provider === 'webgpu')?.reason).toMatch(expectedSkipReason())
    expect(seconds).toBeLessThan(10)
  })

  it('starts the runner on cpu, names the provider and the skip reasons in its start-up line and in the model metadata', async () => {
    const logs: LogEntry[] = []
    const started = performance.now()
    const runner = await startRunner(runnerConfigFromEnv({ RUNNER_PORT: '0', MODEL_DIR: dir }), { log: (e) => logs.push(e) })
    const seconds = (performance.now() - started) / 1000
    try {
      const line = logs.find((l) => /listening on/.test(l.msg))?.msg ?? ''
      const metadata = ModelMetadata.parse(await (await fetch(`${runner.url}/v2/models/brightness`)).json())
      if (hardwareAdapter()) {
        expect(line).toMatch(/brightness on webgpu \(.+\), batch ≤ 32/)
        expect(metadata.execution).toEqual({ provider: 'webgpu', adapter: describeAdapter(adapter as WebGpuAdapterInfo) })
        return
      }
      expect(line).toMatch(/brightness on cpu, batch ≤ 8 within 5 ms \(cuda skipped: .+; webgpu skipped: .+\)/)
      expect(line).toMatch(expectedSkipReason())
      expect(metadata.execution).toEqual({ provider: 'cpu' })
      expect(seconds).toBeLessThan(10)
      console.log(`start-up line (${seconds.toFixed(2)} s): ${line}`)
    } finally {
      await runner.close()
    }
  })
})
