import { access } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import path from 'node:path'
import { createBackendRegistry, firstLineOfError } from '@genimage/shared'
import * as tfjs from '@tensorflow/tfjs'
import { probeWebGpuAdapterInfo } from '../webgpu/adapter-probe.ts'
import { describeAdapter, usableWebGpuAdapter } from '../webgpu/adapter.ts'
import { TfBackendError } from './errors.ts'
import { useConvKernels, type ConvKernelMode, type ConvKernelsStatus } from './onnx-conv/register.ts'
import { registerWasmTrainingKernels } from './wasm-kernels/register.ts'

/** The tfjs API namespace, as `@tensorflow/tfjs` exports it. */
export type Tf = typeof tfjs

/** Backends the project knows how to start, fastest first (each is registered in `tfBackends` below). */
export const TF_BACKEND_NAMES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const
export type TfBackendName = (typeof TF_BACKEND_NAMES)[number]

/** Start-up settings: they take effect when a backend starts, i.e. on the first resolve that reaches it. */
export interface TfStartSettings {
  /** Threads for the wasm backend's XNNPACK pool (at most 8). Default: all logical cores. */
  threads?: number
}

/** What each resolve asks of an active backend. */
export interface TfActivation {
  conv: ConvKernelMode
  /** Threads wanted by this resolve (the wasm convolutions on onnxruntime use them); default the backend's own. */
  threads?: number
  /** The backend asked for by name (`--backend`, `GENIMAGE_TF_BACKEND`), if any: it may run where it otherwise would not. */
  named?: TfBackendName
}

/** A started tfjs backend, remembered for the life of the process. */
export interface StartedTfBackend {
  tf: Tf
  /** Threads it computes with: the XNNPACK pool size for `wasm`, 1 for `cpu`, 0 for `tensorflow` and `webgpu` (their own). */
  threads: number
  /** The device it computes on, where that is worth a log line (the WebGPU adapter). */
  device?: string
  /** Runs on every resolve before the backend becomes the active one; throws why it may not be used this time. */
  admit?: (request: TfActivation) => Promise<void>
  /** Set-up after it became the active backend, on every resolve; says who computes convolutions where that varies. */
  activate?: (request: TfActivation) => ConvKernelsStatus | undefined
}

/**
 * Every tfjs backend with its priority (higher is tried first) and start-up, which runs once per process: a later
 * resolve reuses a started backend and does not retry one that failed. A new backend is one more name in
 * `TF_BACKEND_NAMES` and one more `register` call.
 */
export const tfBackends = createBackendRegistry<TfBackendName, TfStartSettings, StartedTfBackend>({
  label: 'tfjs backend',
  unavailable: (failures) =>
    new TfBackendError('tf_backend_unavailable', `no tfjs backend could start:\n${failures.map((f) => `  - ${f.name}: ${f.reason}`).join('\n')}`),
})

const require = createRequire(import.meta.url)

/** Folder (with trailing separator) holding the wasm binaries of `@tensorflow/tfjs-backend-wasm`. */
export function wasmBinaryFolder(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep
}

/** `@tensorflow/tfjs-node-gpu`, else `@tensorflow/tfjs-node` (only in the GPU runner image). */
async function startTensorflow(): Promise<StartedTfBackend> {
  const errors: string[] = []
  for (const specifier of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      const tf = (await import(specifier)) as Tf
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`setBackend('tensorflow') returned false`)
      return { tf, threads: 0 }
    } catch (error) {
      // An absent package is the usual case off the GPU image: say so in two words instead of Node's resolver message.
      const absent = (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${specifier}'`)
      errors.push(`${specifier}: ${absent ? 'not installed' : firstLineOfError(error)}`)
    }
  }
  throw new Error(errors.join('; '))
}

/** True when the project's patch (patches/@tensorflow+tfjs-backend-wasm+*.patch) lets threads run under Node. */
function wasmThreadsPatched(wasm: object): boolean {
  return (wasm as { nodeThreadsPatched?: boolean }).nodeThreadsPatched === true
}

/**
 * The wasm binaries of the installed package, with an XNNPACK pool of `threads` (more than 1 needs the project's
 * patch; without it the single-threaded SIMD build runs). Each activation registers the project's training kernels
 * and puts convolutions on onnxruntime or XNNPACK as asked.
 */
async function startWasm({ threads }: TfStartSettings): Promise<StartedTfBackend> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm')
  const folder = wasmBinaryFolder()
  await access(path.join(folder, 'tfjs-backend-wasm.wasm'))
  if (tfjs.findBackend('wasm') == null) {
    const wanted = Math.min(threads ?? availableParallelism(), 8)
    wasm.setWasmPaths(folder)
    wasm.setThreadsCount(wanted)
    if (wanted > 1 && wasmThreadsPatched(wasm)) tfjs.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true)
  }
  if (!(await tfjs.setBackend('wasm'))) {
    throw new Error(`setBackend('wasm') returned false: the module did not initialise (see the warning above)`)
  }
  const poolThreads = wasm.getThreadsCount()
  return {
    tf: tfjs,
    threads: poolThreads,
    activate: ({ conv, threads: wanted }) => {
      registerWasmTrainingKernels(tfjs)
      return useConvKernels(tfjs, { mode: conv, threads: Math.min(wanted ?? poolThreads, 8) })
    },
  }
}

/**
 * tfjs-backend-webgpu on Dawn (npm `webgpu`), when a WebGPU adapter exists. Starting finds the adapter and loads the
 * backend; the device is created when it first becomes active. A software adapter (lavapipe, SwiftShader) is
 * admitted only when `webgpu` was asked for by name: it computes on the CPU, slower than `wasm`. Tensors are read
 * back only asynchronously (`data()`; `dataSync()` needs OffscreenCanvas, which Node lacks) unless read once before.
 */
async function startWebGpu(): Promise<StartedTfBackend> {
  const info = await probeWebGpuAdapterInfo()
  return {
    tf: tfjs,
    threads: 0,
    device: describeAdapter(info),
    admit: async ({ named }) => {
      await usableWebGpuAdapter(named === 'webgpu')
      // Registers the backend only now: it looks for the navigator.gpu that creating the adapter installs.
      await import('@tensorflow/tfjs-backend-webgpu')
    },
  }
}

/** Pure JavaScript: always available, and slow. */
async function startCpu(): Promise<StartedTfBackend> {
  if (!(await tfjs.setBackend('cpu'))) throw new Error(`setBackend('cpu') returned false`)
  return { tf: tfjs, threads: 1 }
}

tfBackends.register('tensorflow', 300, startTensorflow)
tfBackends.register('webgpu', 250, startWebGpu)
tfBackends.register('wasm', 200, startWasm)
tfBackends.register('cpu', 100, startCpu)
