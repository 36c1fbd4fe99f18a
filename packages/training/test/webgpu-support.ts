import { afterAll } from 'vitest'
import { resolveTfBackend, type ResolvedTfBackend, type TfBackendName } from '../src/tf/index.ts'

/** `GENIMAGE_SKIP_WEBGPU=1` skips the WebGPU tests on purpose; otherwise they fail where no adapter exists. */
export const skipWebGpu = process.env.GENIMAGE_SKIP_WEBGPU === '1'

/**
 * Makes `backend` the active tfjs backend; `webgpu` is asked for by name, so a software adapter (lavapipe) runs.
 * @throws Error saying that the WebGPU tests need an adapter, and how to skip them, when `webgpu` cannot start.
 */
export async function useBackend(backend: TfBackendName): Promise<ResolvedTfBackend> {
  const named = backend === 'webgpu' ? { backend } : {}
  try {
    return await resolveTfBackend({ priority: [backend], ...named, log: () => {} })
  } catch (error) {
    if (backend !== 'webgpu') throw error
    throw new Error(
      `the WebGPU tests need a WebGPU adapter (a GPU, or lavapipe: mesa-vulkan-drivers ≥ 25); set GENIMAGE_SKIP_WEBGPU=1 to skip them: ${(error as Error).message}`,
    )
  }
}

/** Prints the test file's wall time when it ends (lavapipe compiles shaders slowly: keep an eye on it). */
export function reportWallTime(file: string): void {
  const started = performance.now()
  afterAll(() => {
    console.log(`${file}: wall time ${((performance.now() - started) / 1000).toFixed(1)} s`)
  })
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}
