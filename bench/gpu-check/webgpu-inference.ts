/**
 * Section `inference`: the exported ResNet-50 on onnxruntime-node's `webgpu` execution provider, images/s at each
 * batch size. One session serves every batch size (dynamic `N`); each size gets warm-up runs first (onnxruntime
 * compiles shaders per shape), then runs for a fixed time. Inputs are host tensors, as the runner sends them.
 */
import { readFile } from 'node:fs/promises'
import * as ort from 'onnxruntime-node'
import type { Measurement, SectionResult, WorkloadKey } from './results.ts'

export interface InferenceSettings {
  onnxPath: string
  inputName: string
  size: number
  batches: number[]
  warmup: number
  /** Seconds of timed runs per batch size (at least `minRuns` runs). */
  seconds: number
  minRuns: number
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN

/** Times `session.run` per batch size on `webgpu`; the provider is asked for by name, so a software adapter serves too. */
export async function measureWebGpuInference(settings: InferenceSettings): Promise<SectionResult> {
  const notes: string[] = []
  const measurements: Measurement[] = []
  if (!ort.listSupportedBackends().some((b) => b.name === 'webgpu')) {
    return { section: 'inference', ok: false, error: 'this onnxruntime-node build has no webgpu execution provider', notes, measurements }
  }
  const bytes = await readFile(settings.onnxPath)
  const created = performance.now()
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' })
  notes.push(`onnxruntime-node ${ort.env.versions.common} webgpu session created in ${((performance.now() - created) / 1000).toFixed(1)} s`)
  try {
    for (const batch of settings.batches) {
      const { size } = settings
      const data = Float32Array.from({ length: batch * 3 * size * size }, (_, i) => Math.sin(i) * 0.5)
      const feeds = { [settings.inputName]: new ort.Tensor('float32', data, [batch, 3, size, size]) }
      const warmStarted = performance.now()
      for (let i = 0; i < settings.warmup; i++) await session.run(feeds)
      const warmSeconds = (performance.now() - warmStarted) / 1000
      const times: number[] = []
      const started = performance.now()
      const until = started + settings.seconds * 1000
      while (times.length < settings.minRuns || performance.now() < until) {
        const t = performance.now()
        await session.run(feeds)
        times.push(performance.now() - t)
      }
      const seconds = (performance.now() - started) / 1000
      const rate = (times.length * batch) / seconds
      const detail = `${times.length} runs, per batch p50 ${median(times).toFixed(1)} ms; ${settings.warmup} warm-up run(s) ${warmSeconds.toFixed(1)} s`
      process.stderr.write(`  webgpu inference batch ${batch}: ${rate.toFixed(1)} img/s (${detail})\n`)
      measurements.push({ workload: `infer-b${batch}` as WorkloadKey, side: 'webgpu', value: rate, unit: 'img/s', detail })
    }
  } finally {
    await session.release()
  }
  return { section: 'inference', ok: true, notes, measurements }
}
