import { registerBatchNormGradient } from './batch-norm-gradient.ts'
import { TfBackendError } from './errors.ts'
import { registerFusedTrainingKernels } from './fused-training/register.ts'
import { wantedConvMode, type ConvKernelMode, type ConvKernelsStatus } from './onnx-conv/register.ts'
import { type StartedTfBackend, type Tf, TF_BACKEND_NAMES, type TfBackendName, tfBackends } from './backends.ts'

/** Environment variable naming the tfjs backend to use first (`auto` or unset: by priority). */
export const TF_BACKEND_ENV = 'GENIMAGE_TF_BACKEND'

/**
 * The backend asked for by name: `backend` when given, else `GENIMAGE_TF_BACKEND`; `auto`, empty or unset name none.
 * @throws TfBackendError code `tf_backend_unknown` for a name outside `TF_BACKEND_NAMES`, naming where it came from.
 */
export function wantedTfBackend(backend?: string): TfBackendName | undefined {
  const fromEnv = backend == null
  const wanted = (backend ?? process.env[TF_BACKEND_ENV] ?? '').trim()
  if (wanted === '' || wanted === 'auto') return undefined
  if (!(TF_BACKEND_NAMES as readonly string[]).includes(wanted)) {
    const source = fromEnv ? ` (${TF_BACKEND_ENV})` : ''
    throw new TfBackendError('tf_backend_unknown', `unknown tfjs backend '${wanted}'${source}; known: auto, ${TF_BACKEND_NAMES.join(', ')}`)
  }
  return wanted as TfBackendName
}

export interface ResolveTfBackendOptions {
  /** Backends to try, in this order. Default: every registered backend by priority, `['tensorflow', 'webgpu', 'wasm', 'cpu']`. */
  priority?: readonly TfBackendName[]
  /**
   * The backend asked for by name (`genimage train --backend`): tried first, before `priority`, and allowed what
   * only a named backend may do (`webgpu` on a software adapter such as lavapipe). `auto`: none. Default: when
   * `priority` is not given either, `GENIMAGE_TF_BACKEND`; else none.
   */
  backend?: TfBackendName | 'auto'
  /**
   * Threads for the wasm backend's XNNPACK pool (at most 8). Default: all logical cores. More than 1 needs the
   * project's patch of `@tensorflow/tfjs-backend-wasm` (patches/, applied by `postinstall`); without it, or with
   * `1`, the single-threaded SIMD build runs (what plain `tf.setBackend('wasm')` gives under Node). The pool is
   * sized when the wasm backend starts, i.e. by the first resolve that starts it in this process.
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
  /** Failures of the backends tried before `name`, in priority order (a start-up failure is remembered, not retried). */
  reasons: TfBackendFailure[]
  /** Threads the backend computes with: the XNNPACK pool size for `wasm`, 1 for `cpu`, 0 for `tensorflow` and `webgpu` (their own). */
  threads: number
  /** The device it computes on, where it names one (`webgpu`: the adapter, e.g. `llvmpipe: Mesa 25.0.7 (software)`). */
  device?: string
  /** Who computes convolutions: `onnx` or `wasm` for the `wasm` backend (with why `onnx` was not used), else the backend itself. */
  convolutions: { mode: ConvKernelMode | 'backend'; reason?: string }
}

interface ActiveTfBackend extends StartedTfBackend {
  conv?: ConvKernelsStatus
}

/**
 * Makes the first tfjs backend in `priority` that works on this machine the active one, through `tfBackends`: each
 * backend starts once per process (see there: `tensorflow` needs `@tensorflow/tfjs-node-gpu` or
 * `@tensorflow/tfjs-node`; `webgpu` needs a WebGPU adapter, and a software one (lavapipe) only when asked for
 * by name, else it is skipped with the reason; `wasm` loads its binaries from the installed package and gets the project's training
 * kernels (see `registerWasmTrainingKernels`) with its convolutions on onnxruntime unless `conv` says `wasm`
 * (see `useConvKernels`); `cpu` is pure JavaScript and always available), and a backend that failed to start is
 * skipped with its remembered reason. Every backend gets the leaner batch-norm gradient
 * (`registerBatchNormGradient`) and the fused training kernels (`registerFusedTrainingKernels`: batch norm in
 * training mode, also behind tf.layers.batchNormalization).
 *
 * @throws TfBackendError code `tf_backend_unavailable`, listing why each backend failed, when none works;
 *   code `tf_backend_unknown` for a name outside `TF_BACKEND_NAMES` (also in `backend` or `GENIMAGE_TF_BACKEND`); code `tf_conv_mode_unknown` for a
 *   `conv` (or `GENIMAGE_TF_CONV`) other than `onnx`/`wasm`.
 * @example
 * const { tf, name } = await resolveTfBackend({ priority: ['wasm', 'cpu'], threads: 2 })
 * const onLavapipe = await resolveTfBackend({ backend: 'webgpu' })
 */
export async function resolveTfBackend(options: ResolveTfBackendOptions = {}): Promise<ResolvedTfBackend> {
  const named = wantedTfBackend(options.backend ?? (options.priority == null ? undefined : 'auto'))
  const byPriority = options.priority ?? tfBackends.names()
  const priority = named == null ? byPriority : [named, ...byPriority.filter((name) => name !== named)]
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const unknown = priority.filter((name) => !tfBackends.isRegistered(name))
  if (unknown.length > 0) {
    throw new TfBackendError('tf_backend_unknown', `unknown tfjs backend ${unknown.map((n) => `'${n}'`).join(', ')}; known: ${tfBackends.names().join(', ')}`)
  }
  if (priority.length === 0) throw new TfBackendError('tf_backend_unavailable', 'no tfjs backend in the priority list')
  const convMode = wantedConvMode(options.conv)
  const activate = async (name: TfBackendName, started: StartedTfBackend): Promise<ActiveTfBackend> => {
    await started.admit?.({ conv: convMode, threads: options.threads, named })
    if (!(await started.tf.setBackend(name))) throw new Error(`setBackend('${name}') returned false`)
    const conv = started.activate?.({ conv: convMode, threads: options.threads, named })
    registerBatchNormGradient(started.tf)
    registerFusedTrainingKernels(started.tf)
    return { ...started, conv }
  }
  const { name, value, failures } = await tfBackends.resolve({ order: priority, settings: { threads: options.threads }, use: activate })
  const { tf, threads, conv, device } = value
  const skipped = failures.map((r) => `${r.name}: ${r.reason}`).join('; ')
  const convolutions = conv == null ? { mode: 'backend' as const } : { mode: conv.mode, ...(conv.reason ? { reason: conv.reason } : {}) }
  const convNote = conv == null ? '' : `, convolutions: ${conv.mode === 'onnx' ? 'onnxruntime' : 'wasm'}${conv.reason ? ` (${conv.reason})` : ''}`
  const deviceNote = device == null ? '' : `, device: ${device}${named === name ? ', asked for by name' : ''}`
  log(`tfjs backend: ${name} (threads: ${threads || 'native'}${convNote}${deviceNote})${skipped ? ` — skipped ${skipped}` : ''}`)
  return { name, tf, reasons: failures, threads, convolutions, ...(device == null ? {} : { device }) }
}
