import { access } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import path from 'node:path'
import * as tfjs from '@tensorflow/tfjs'
import { registerBatchNormGradient } from './batch-norm-gradient.ts'
import { TfBackendError } from './errors.ts'
import { registerFusedTrainingKernels } from './fused-training/register.ts'
import { useConvKernels, wantedConvMode, type ConvKernelMode, type ConvKernelsStatus } from './onnx-conv/register.ts'
import { registerWasmTrainingKernels } from './wasm-kernels/register.ts'

/** The tfjs API namespace, as `@tensorflow/tfjs` exports it. */
export type Tf = typeof tfjs

/** Backends the runner knows how to start, fastest first. */
export const TF_BACKEND_NAMES = ['tensorflow', 'wasm', 'cpu'] as const
export type TfBackendName = (typeof TF_BACKEND_NAMES)[number]

export interface ResolveTfBackendOptions {
  /** Backends to try, in order. Default `['tensorflow', 'wasm', 'cpu']`. */
  priority?: readonly TfBackendName[]
  /**
   * Threads for the wasm backend's XNNPACK pool (at most 8). Default: all logical cores. More than 1 needs the
   * project's patch of `@tensorflow/tfjs-backend-wasm` (patches/, applied by `postinstall`); without it, or with
   * `1`, the single-threaded SIMD build runs (what plain `tf.setBackend('wasm')` gives under Node).
   */
  threads?: number
  /**
   * Who computes the `wasm` backend's convolutions and their gradients: `onnx` (onnxruntime-node's CPU
   * provider, its own pool of `threads` threads; falls back to `wasm` when it cannot load) or `wasm`
   * (XNNPACK and the project's kernels). Default: `GENIMAGE_TF_CONV`, else `onnx`.
   */
  conv?: ConvKernelMode
  /** Receives one line naming the backend that runs (and why earlier ones did not). Default: stderr. */
  log?: (line: string) => void
}

/** Why one backend in the priority list was not used. */
export interface TfBackendFailure {
  name: TfBackendName
  reason: string
}

export interface ResolvedTfBackend {
  name: TfBackendName
  tf: Tf
  /** Failures of the backends tried before `name`, in priority order. */
  reasons: TfBackendFailure[]
  /** Threads the backend computes with: the XNNPACK pool size for `wasm`, 1 for `cpu`, 0 for `tensorflow` (its own pool). */
  threads: number
  /** Who computes convolutions: `onnx` or `wasm` for the `wasm` backend (with why `onnx` was not used), else the backend itself. */
  convolutions: { mode: ConvKernelMode | 'backend'; reason?: string }
}

const require = createRequire(import.meta.url)

/** Folder (with trailing separator) holding the wasm binaries of `@tensorflow/tfjs-backend-wasm`. */
export function wasmBinaryFolder(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep
}

interface Started {
  tf: Tf
  threads: number
  conv?: ConvKernelsStatus
}

type Attempt = (threads: number | undefined, conv: ConvKernelMode) => Promise<Started>

async function importOptional(specifier: string): Promise<Tf> {
  return (await import(specifier)) as Tf
}

const tryTensorflow: Attempt = async () => {
  const errors: string[] = []
  for (const specifier of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      const tf = await importOptional(specifier)
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`setBackend('tensorflow') returned false`)
      return { tf, threads: 0 }
    } catch (error) {
      errors.push(`${specifier}: ${describe(error)}`)
    }
  }
  throw new Error(errors.join('; '))
}

/** True when the project's patch (patches/@tensorflow+tfjs-backend-wasm+*.patch) lets threads run under Node. */
function wasmThreadsPatched(wasm: object): boolean {
  return (wasm as { nodeThreadsPatched?: boolean }).nodeThreadsPatched === true
}

const tryWasm: Attempt = async (threads, conv) => {
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
  registerWasmTrainingKernels(tfjs)
  const poolThreads = wasm.getThreadsCount()
  return { tf: tfjs, threads: poolThreads, conv: useConvKernels(tfjs, { mode: conv, threads: Math.min(threads ?? poolThreads, 8) }) }
}

const tryCpu: Attempt = async () => {
  if (!(await tfjs.setBackend('cpu'))) throw new Error(`setBackend('cpu') returned false`)
  return { tf: tfjs, threads: 1 }
}

const attempts: Record<TfBackendName, Attempt> = { tensorflow: tryTensorflow, wasm: tryWasm, cpu: tryCpu }

function describe(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name
  return String(error)
}

/**
 * Starts the first tfjs backend in `priority` that works on this machine and makes it the active one.
 * `tensorflow` needs `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node` (only in the GPU runner image);
 * `wasm` loads its binaries from the installed package and gets the project's training kernels
 * (see `registerWasmTrainingKernels`) with its convolutions on onnxruntime unless `conv` says `wasm`
 * (see `useConvKernels`); `cpu` is pure JavaScript and always available. Every backend gets
 * the leaner batch-norm gradient (`registerBatchNormGradient`) and the fused training kernels
 * (`registerFusedTrainingKernels`: batch norm in training mode, also behind tf.layers.batchNormalization).
 *
 * @throws TfBackendError code `tf_backend_unavailable`, listing why each backend failed, when none works;
 *   code `tf_backend_unknown` for a name outside `TF_BACKEND_NAMES`; code `tf_conv_mode_unknown` for a
 *   `conv` (or `GENIMAGE_TF_CONV`) other than `onnx`/`wasm`.
 * @example
 * const { tf, name } = await resolveTfBackend({ priority: ['wasm', 'cpu'], threads: 2 })
 */
export async function resolveTfBackend(options: ResolveTfBackendOptions = {}): Promise<ResolvedTfBackend> {
  const priority = options.priority ?? TF_BACKEND_NAMES
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const unknown = priority.filter((name) => !(TF_BACKEND_NAMES as readonly string[]).includes(name))
  if (unknown.length > 0) {
    throw new TfBackendError('tf_backend_unknown', `unknown tfjs backend ${unknown.map((n) => `'${n}'`).join(', ')}; known: ${TF_BACKEND_NAMES.join(', ')}`)
  }
  if (priority.length === 0) throw new TfBackendError('tf_backend_unavailable', 'no tfjs backend in the priority list')
  const convMode = wantedConvMode(options.conv)
  const reasons: TfBackendFailure[] = []
  for (const name of priority) {
    try {
      const { tf, threads, conv } = await attempts[name](options.threads, convMode)
      registerBatchNormGradient(tf)
      registerFusedTrainingKernels(tf)
      const skipped = reasons.map((r) => `${r.name}: ${r.reason}`).join('; ')
      const convolutions = conv == null ? { mode: 'backend' as const } : { mode: conv.mode, ...(conv.reason ? { reason: conv.reason } : {}) }
      const convNote = conv == null ? '' : `, convolutions: ${conv.mode === 'onnx' ? 'onnxruntime' : 'wasm'}${conv.reason ? ` (${conv.reason})` : ''}`
      log(`tfjs backend: ${name} (threads: ${threads || 'native'}${convNote})${skipped ? ` — skipped ${skipped}` : ''}`)
      return { name, tf, reasons, threads, convolutions }
    } catch (error) {
      reasons.push({ name, reason: describe(error) })
    }
  }
  throw new TfBackendError('tf_backend_unavailable', `no tfjs backend could start:\n${reasons.map((r) => `  - ${r.name}: ${r.reason}`).join('\n')}`)
}
