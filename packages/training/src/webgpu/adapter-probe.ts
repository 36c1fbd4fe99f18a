import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { isSoftwareAdapter, type WebGpuAdapterInfo } from './adapter.ts'

/** Runs in a short-lived child process: asks Dawn for the default adapter and prints its info as JSON (or `null`). */
const CHILD_SCRIPT = `const { create, globals } = await import(process.argv[1])
Object.assign(globalThis, globals)
const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' })
const info = adapter?.info
process.stdout.write(JSON.stringify(info == null ? null : {
  vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
  isFallbackAdapter: info.isFallbackAdapter ?? adapter.isFallbackAdapter,
}))
process.exit(0)`

const PROBE_TIMEOUT_MS = 30_000

let quietProbe: Promise<WebGpuAdapterInfo> | undefined

/**
 * The default WebGPU adapter's info, found in a child process (about 0.25 s, once per process) so that what Dawn,
 * the Vulkan loader and Mesa print while looking (`Warning: maxDynamic… artificially reduced`, ICD errors) never
 * reaches this process's stderr. Callers decide from it whether to create the adapter here at all.
 * @throws Error saying why when the package, a Vulkan loader or any adapter is missing.
 */
export function probeWebGpuAdapterInfo(): Promise<WebGpuAdapterInfo> {
  quietProbe ??= (async () => {
    let entry: string
    try {
      entry = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href
    } catch (error) {
      throw new Error(`the webgpu package (Dawn for Node) did not load: ${(error as Error).message.split('\n')[0]}`)
    }
    const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }
    const stdout = await new Promise<string>((done, fail) => {
      execFile(process.execPath, ['--input-type=module', '-e', CHILD_SCRIPT, entry], { env, timeout: PROBE_TIMEOUT_MS }, (error, out, err) => {
        if (error) fail(new Error(`looking for a WebGPU adapter failed: ${(String(err).trim().split('\n').at(-1) || error.message).slice(0, 200)}`))
        else done(out)
      })
    })
    const raw = JSON.parse(stdout || 'null') as (Omit<WebGpuAdapterInfo, 'software'> & { isFallbackAdapter?: boolean }) | null
    if (raw == null) throw new Error('no WebGPU adapter (no Vulkan device: install a GPU driver, or mesa-vulkan-drivers for lavapipe)')
    const { isFallbackAdapter, ...info } = raw
    return { ...info, software: isSoftwareAdapter({ ...info, isFallbackAdapter }) }
  })()
  return quietProbe
}
