import { registerBatchNormGradient } from './batch-norm-gradient.ts'
import { TfBackendError } from './errors.ts'
import { registerFusedTrainingKernels } from './fused-training/register.ts'
import { wantedConvMode, type ConvKernelMode, type ConvKernelsStatus } from './onnx-conv/register.ts'
import { type StartedTfBackend, type Tf, type TfBackendName, tfBackends } from './backends.ts'

export interface ResolveTfBackendOptions {
  /** Backends to try, in this order. Default: every registered backend by priority, `['tensorflow', 'wasm', 'cpu']`. */
  priority?: readonly TfBackendName[]
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
  /** Threads the backend computes with: the XNNPACK pool size for `wasm`, 1 for `cpu`, 0 for `tensorflow` (its own pool). */
  threads: number
  /** Who computes convolutions: `onnx` or `wasm` for the `wasm` backend (with why `onnx` was not used), else the backend itself. */
  convolutions: { mode: ConvKernelMode | 'backend'; reason?: string }
}

interface ActiveTfBackend extends StartedTfBackend {
  conv?: ConvKernelsStatus
}

/**
 * Makes the first tfjs backend in `priority` that works on this machine the active one, through `tfBackends`: each
 * backend starts once per process (see there: `tensorflow` needs `@tensorflow/tfjs-node-gpu` or
 * `@tensorflow/tfjs-node`; `wasm` loads its binaries from the installed package and gets the project's training
 * kernels (see `registerWasmTrainingKernels`) with its convolutions on onnxruntime unless `conv` says `wasm`
 * (see `useConvKernels`); `cpu` is pure JavaScript and always available), and a backend that failed to start is
 * skipped with its remembered reason. Every backend gets the leaner batch-norm gradient
 * (`registerBatchNormGradient`) and the fused training kernels (`registerFusedTrainingKernels`: batch norm in
 * training mode, also behind tf.layers.batchNormalization).
 *
 * @throws TfBackendError code `tf_backend_unavailable`, listing why each backend failed, when none works;
 *   code `tf_backend_unknown` for a name outside `TF_BACKEND_NAMES`; code `tf_conv_mode_unknown` for a
 *   `conv` (or `GENIMAGE_TF_CONV`) other than `onnx`/`wasm`.
 * @example
 * const { tf, name } = await resolveTfBackend({ priority: ['wasm', 'cpu'], threads: 2 })
 */
export async function resolveTfBackend(options: ResolveTfBackendOptions = {}): Promise<ResolvedTfBackend> {
  const priority = options.priority ?? tfBackends.names()
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const unknown = priority.filter((name) => !tfBackends.isRegistered(name))
  if (unknown.length > 0) {
    throw new TfBackendError('tf_backend_unknown', `unknown tfjs backend ${unknown.map((n) => `'${n}'`).join(', ')}; known: ${tfBackends.names().join(', ')}`)
  }
  if (priority.length === 0) throw new TfBackendError('tf_backend_unavailable', 'no tfjs backend in the priority list')
  const convMode = wantedConvMode(options.conv)
  const activate = async (name: TfBackendName, started: StartedTfBackend): Promise<ActiveTfBackend> => {
    if (!(await started.tf.setBackend(name))) throw new Error(`setBackend('${name}') returned false`)
    const conv = started.activate?.({ conv: convMode, threads: options.threads })
    registerBatchNormGradient(started.tf)
    registerFusedTrainingKernels(started.tf)
    return { ...started, conv }
  }
  const { name, value, failures } = await tfBackends.resolve({ order: priority, settings: { threads: options.threads }, use: activate })
  const { tf, threads, conv } = value
  const skipped = failures.map((r) => `${r.name}: ${r.reason}`).join('; ')
  const convolutions = conv == null ? { mode: 'backend' as const } : { mode: conv.mode, ...(conv.reason ? { reason: conv.reason } : {}) }
  const convNote = conv == null ? '' : `, convolutions: ${conv.mode === 'onnx' ? 'onnxruntime' : 'wasm'}${conv.reason ? ` (${conv.reason})` : ''}`
  log(`tfjs backend: ${name} (threads: ${threads || 'native'}${convNote})${skipped ? ` — skipped ${skipped}` : ''}`)
  return { name, tf, reasons: failures, threads, convolutions }
}
