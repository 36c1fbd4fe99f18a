import { createRequire } from 'node:module'
import { probeWebGpuAdapterInfo } from './adapter-probe.ts'

/** What the project needs to know of a WebGPU adapter, read from `GPUAdapter.info`. */
export interface WebGpuAdapterInfo {
  vendor: string
  architecture: string
  device: string
  description: string
  /** A CPU implementation (lavapipe/llvmpipe, SwiftShader, a fallback adapter): correct, and slower than the CPU paths. */
  software: boolean
}

/** An adapter with the `navigator.gpu` that produced it (Dawn's Node binding from the npm package `webgpu`). */
export interface WebGpuAdapter {
  gpu: GPU
  adapter: GPUAdapter
  info: WebGpuAdapterInfo
}

const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|software rasterizer|microsoft basic render/i

/** True for adapters that compute on the CPU: Dawn's fallback flag, a `cpu`/`software` architecture, or a known software driver. */
export function isSoftwareAdapter(info: { architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }): boolean {
  if (info.isFallbackAdapter === true) return true
  if (/^(cpu|software)$/i.test(info.architecture ?? '')) return true
  return SOFTWARE_NAMES.test(`${info.device ?? ''} ${info.description ?? ''}`)
}

/** One line naming an adapter for logs and metadata, e.g. `llvmpipe: Mesa 25.0.7 (software)`. */
export function describeAdapter(info: WebGpuAdapterInfo): string {
  const name = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unnamed adapter'
  return info.software ? `${name} (software)` : name
}

let probe: Promise<WebGpuAdapter> | undefined

/**
 * Asks Dawn (npm `webgpu`) for the default adapter, once per process, and installs its WebGPU globals and
 * `navigator.gpu` so that libraries written for browsers (tfjs-backend-webgpu) find them.
 * @throws Error saying why when the package, a Vulkan loader or any adapter is missing.
 */
export function requestWebGpuAdapter(): Promise<WebGpuAdapter> {
  probe ??= (async () => {
    process.env.XDG_RUNTIME_DIR ??= '/tmp'
    let binding: { create: (flags: string[]) => GPU; globals: Record<string, unknown> }
    try {
      binding = createRequire(import.meta.url)('webgpu') as typeof binding
    } catch (error) {
      throw new Error(`the webgpu package (Dawn for Node) did not load: ${(error as Error).message.split('\n')[0]}`)
    }
    Object.assign(globalThis, binding.globals)
    const gpu = binding.create([])
    if (!('navigator' in globalThis) || globalThis.navigator == null) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true })
    if (!('gpu' in globalThis.navigator)) Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true })
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
    if (adapter == null) throw new Error('no WebGPU adapter (no Vulkan device: install a GPU driver, or mesa-vulkan-drivers for lavapipe)')
    const raw = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }
    const info: WebGpuAdapterInfo = {
      vendor: raw.vendor,
      architecture: raw.architecture,
      device: raw.device,
      description: raw.description,
      software: isSoftwareAdapter({ ...raw, isFallbackAdapter: raw.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter }),
    }
    return { gpu, adapter, info }
  })()
  return probe
}

/**
 * The adapter, when it may be used: a hardware adapter always, a software one only when WebGPU was asked for by
 * name (`forced`), because on the CPU it is slower than the CPU backends.
 * @throws Error with the reason (no adapter, or a software adapter not asked for).
 */
export async function usableWebGpuAdapter(forced: boolean): Promise<WebGpuAdapter> {
  // Looked up quietly first: a software adapter that is not asked for is refused without Dawn starting in this process.
  const info = await probeWebGpuAdapterInfo()
  if (info.software && !forced) throw new Error(`software adapter ${describeAdapter(info)} is slower than the CPU; ask for webgpu by name to use it`)
  return requestWebGpuAdapter()
}
