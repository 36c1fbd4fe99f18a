import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { exportDetectorToOnnx } from '../src/export/onnx-export.ts'
import { readsSynchronously, resolveTfBackend, TF_BACKEND_ENV, withSynchronousReads } from '../src/tf/index.ts'
import { requestWebGpuAdapter } from '../src/webgpu/adapter.ts'
import { createDetector } from '../src/zoo/index.ts'
import { reportWallTime, skipWebGpu, useBackend } from './webgpu-support.ts'

describe.skipIf(skipWebGpu)('the webgpu tfjs backend', () => {
  reportWallTime('tf-resolve-backend.webgpu.test.ts')

  it('is skipped by default on a software adapter, saying why in the one log line, and used on a hardware one', async () => {
    await useBackend('webgpu')
    const { info } = await requestWebGpuAdapter()
    const lines: string[] = []
    const resolved = await resolveTfBackend({ priority: ['tensorflow', 'webgpu', 'wasm', 'cpu'], log: (line) => lines.push(line) })
    expect(lines).toHaveLength(1)
    if (info.software) {
      expect(resolved.name).toBe('wasm')
      expect(resolved.reasons.find((r) => r.name === 'webgpu')?.reason).toMatch(
        /^software adapter llvmpipe.*\(software\) is slower than the CPU; ask for webgpu by name/,
      )
      expect(lines[0]).toMatch(/^tfjs backend: wasm .* — skipped tensorflow: .*; webgpu: software adapter .* is slower than the CPU/)
    } else {
      expect(resolved.name).toBe('webgpu')
    }
  })

  it('runs on any adapter when asked for by name, through `backend` or GENIMAGE_TF_BACKEND, naming the adapter', async () => {
    const lines: string[] = []
    const named = await resolveTfBackend({ backend: 'webgpu', log: (line) => lines.push(line) })
    expect(named.name).toBe('webgpu')
    expect(tf.getBackend()).toBe('webgpu')
    expect(named.reasons).toEqual([])
    expect(lines[0]).toMatch(/^tfjs backend: webgpu \(threads: native, device: .+, asked for by name\)$/)
    await resolveTfBackend({ priority: ['cpu'], log: () => {} })
    const saved = process.env[TF_BACKEND_ENV]
    process.env[TF_BACKEND_ENV] = 'webgpu'
    try {
      expect((await resolveTfBackend({ log: () => {} })).name).toBe('webgpu')
    } finally {
      if (saved === undefined) delete process.env[TF_BACKEND_ENV]
      else process.env[TF_BACKEND_ENV] = saved
    }
  })

  it('reads only asynchronously under Node, and withSynchronousReads exports a webgpu model as cpu would', { timeout: 120_000 }, async () => {
    await useBackend('cpu')
    const onCpu = await createDetector('npr-tiny', { seed: 4 })
    const expected = exportDetectorToOnnx(onCpu)
    onCpu.dispose()
    await useBackend('webgpu')
    expect(readsSynchronously(tf)).toBe(false)
    const onWebGpu = await createDetector('npr-tiny', { seed: 4 })
    expect(() => exportDetectorToOnnx(onWebGpu)).toThrow(/OffscreenCanvas/)
    const bytes = await withSynchronousReads(tf, onWebGpu.params.all().values(), () => exportDetectorToOnnx(onWebGpu))
    expect(tf.getBackend()).toBe('webgpu')
    expect(Buffer.from(bytes).equals(Buffer.from(expected))).toBe(true)
    onWebGpu.dispose()
  })
})
