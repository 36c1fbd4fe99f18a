import { listZooEntries, resolveZooModel } from '@genimage/shared/zoo'
import { exportDetectorToOnnx } from '@genimage/training/export'
import { createDetector } from '@genimage/training/zoo'
import * as ort from 'onnxruntime-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSession } from '../src/inference/execution-providers.ts'
import { softmaxRows } from '../src/inference/run-model.ts'
import { skipWebGpu, testAdapter } from './webgpu-adapter.ts'

/**
 * Every zoo architecture's tiny model, exported to ONNX, scores the same on the `webgpu` provider as on `cpu`. On a
 * machine whose only Vulkan device is lavapipe, WebGPU is forced (as EXECUTION_PROVIDERS=webgpu does). The first run
 * of a model on lavapipe compiles its shaders (LLVM on the CPU): that, not session creation, is what takes time,
 * so each model runs one small batch; Mesa keeps compiled shaders in its disk cache for the next run.
 */

const BATCH = 2
const GENERATORS = ['A', 'B']

interface Measured {
  model: string
  exportMs: number
  sessionMs: number
  firstRunMs: number
  /** CPU time of the first run, all threads (lavapipe compiles shaders on the CPU): wall time on a busy machine says less. */
  firstRunCpuMs: number
  secondRunMs: number
  scoreDiff: number
  logitDiff: number
}

/** Values spread like a normalised image, the same on every run. */
function imageBatch(length: number): Float32Array {
  let state = 12345
  return Float32Array.from({ length }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return (state / 2 ** 31) * 4 - 2
  })
}

const cpuMsSince = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since)
  return Math.round((used.user + used.system) / 1000)
}

const maxAbsDifference = (a: Float32Array, b: Float32Array) => a.reduce((worst, x, i) => Math.max(worst, Math.abs(x - (b[i] as number))), 0)

describe.skipIf(skipWebGpu)('inference parity: webgpu (forced) equals cpu for every zoo architecture', () => {
  const measured: Measured[] = []
  const fileStarted = performance.now()
  const fileCpu = process.cpuUsage()
  let adapter = ''

  beforeAll(async () => {
    adapter = await testAdapter()
  })

  afterAll(() => {
    const rows = measured.map(
      (m) =>
        `  ${m.model.padEnd(18)} export ${String(m.exportMs).padStart(5)} ms  session ${String(m.sessionMs).padStart(5)} ms  ` +
        `first run ${String(m.firstRunMs).padStart(6)} ms (CPU ${String(m.firstRunCpuMs).padStart(6)} ms)  second run ${String(m.secondRunMs).padStart(4)} ms  ` +
        `max |Δscore| ${m.scoreDiff.toExponential(2)}  max |Δlogit| ${m.logitDiff.toExponential(2)}`,
    )
    console.log(
      `WebGPU inference parity on ${adapter}, ${Math.round(performance.now() - fileStarted)} ms in all (CPU ${cpuMsSince(fileCpu)} ms):\n${rows.join('\n')}`,
    )
  })

  it.each(listZooEntries().map((entry) => entry.architecture))(
    '%s-tiny: scores within 1e-4 of the cpu provider',
    async (architecture) => {
      const ref = resolveZooModel(`${architecture}-tiny`)
      let started = performance.now()
      const detector = await createDetector(ref.name, { task: 'attribution', generators: GENERATORS, seed: 7 })
      const bytes = exportDetectorToOnnx(detector)
      detector.dispose()
      const exportMs = Math.round(performance.now() - started)

      const { height, width, layout, name } = ref.input
      const dims = layout === 'NCHW' ? [BATCH, 3, height, width] : [BATCH, height, width, 3]
      const images = imageBatch(BATCH * 3 * height * width)
      const run = async (session: ort.InferenceSession) => {
        const outputs = await session.run({ [name]: new ort.Tensor('float32', images, dims) })
        return Float32Array.from(outputs[session.outputNames[0] as string]?.data as Float32Array)
      }

      const cpu = await createSession(bytes, ['cpu'])
      started = performance.now()
      const gpu = await createSession(bytes, ['webgpu'], { forceWebGpu: true })
      const sessionMs = Math.round(performance.now() - started)
      expect(gpu.provider).toBe('webgpu')
      expect(gpu.adapter).toBe(adapter)
      started = performance.now()
      const cpuBefore = process.cpuUsage()
      const gpuLogits = await run(gpu.session)
      const firstRunMs = Math.round(performance.now() - started)
      const firstRunCpuMs = cpuMsSince(cpuBefore)
      started = performance.now()
      await run(gpu.session)
      const secondRunMs = Math.round(performance.now() - started)
      const cpuLogits = await run(cpu.session)
      await Promise.all([cpu.session.release(), gpu.session.release()])

      const labels = 1 + GENERATORS.length
      expect(gpuLogits).toHaveLength(BATCH * labels)
      const scoreDiff = maxAbsDifference(softmaxRows(gpuLogits, labels), softmaxRows(cpuLogits, labels))
      const logitDiff = maxAbsDifference(gpuLogits, cpuLogits)
      measured.push({ model: ref.name, exportMs, sessionMs, firstRunMs, firstRunCpuMs, secondRunMs, scoreDiff, logitDiff })
      expect(scoreDiff).toBeLessThanOrEqual(1e-4)
    },
    300_000,
  )
})
