import type * as tfjs from '@tensorflow/tfjs'
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs'
import { TfBackendError } from '../errors.ts'
import { createOnnxConvKernels, type ConvFallbacks } from './conv-kernels.ts'
import { DEFAULT_MAX_SESSIONS, loadOrtBinding, OrtSessionCache, type NativeBinding } from './ort-session-cache.ts'

/** Who computes `wasm` convolutions: onnxruntime's CPU provider (MLAS) or the wasm backend's own kernels. */
export const CONV_KERNEL_MODES = ['onnx', 'wasm'] as const
export type ConvKernelMode = (typeof CONV_KERNEL_MODES)[number]

/** Environment variable that picks the mode when no option does. */
export const CONV_MODE_ENV = 'GENIMAGE_TF_CONV'

export interface UseConvKernelsOptions {
  /** Wanted mode; default `GENIMAGE_TF_CONV`, else `onnx`. */
  mode?: ConvKernelMode
  /** Threads of each onnxruntime session. */
  threads: number
  /** Sessions kept (one per op and shape); default `DEFAULT_MAX_SESSIONS` (128). */
  maxSessions?: number
  /** Loads onnxruntime's native binding; default `loadOrtBinding` (replaceable to exercise the fallback). */
  loadRuntime?: () => NativeBinding
}

export interface ConvKernelsStatus {
  /** The mode now in effect (`wasm` when `onnx` was wanted but onnxruntime could not load). */
  mode: ConvKernelMode
  /** Why `onnx` was wanted but not used. */
  reason?: string
  /** The onnxruntime session cache in use (mode `onnx` only). */
  cache?: OrtSessionCache
}

const TAKEN_OVER = ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] as const

interface Installed {
  cache: OrtSessionCache
  configs: KernelConfig[]
}

let fallbacks: ConvFallbacks | undefined
let installed: Installed | undefined

/** The mode asked for by option or environment; throws `tf_conv_mode_unknown` for anything else. */
export function wantedConvMode(mode?: string): ConvKernelMode {
  const wanted = mode ?? process.env[CONV_MODE_ENV] ?? 'onnx'
  if (!(CONV_KERNEL_MODES as readonly string[]).includes(wanted)) {
    throw new TfBackendError('tf_conv_mode_unknown', `unknown convolution mode '${wanted}' (${CONV_MODE_ENV}); known: ${CONV_KERNEL_MODES.join(', ')}`)
  }
  return wanted as ConvKernelMode
}

function missing(kernelName: string): KernelFunc {
  return () => {
    throw new TfBackendError('tf_kernel_unsupported', `wasm kernel '${kernelName}' is missing`)
  }
}

/** The wasm kernels in the registry before this module took over (captured once). */
function captureFallbacks(tf: typeof tfjs): ConvFallbacks {
  if (fallbacks != null) return fallbacks
  const current = (name: string) => tf.getKernel(name, 'wasm')?.kernelFunc ?? missing(name)
  fallbacks = {
    Conv2D: current('Conv2D'),
    FusedConv2D: current('FusedConv2D'),
    Conv2DBackpropInput: current('Conv2DBackpropInput'),
    Conv2DBackpropFilter: current('Conv2DBackpropFilter'),
  }
  return fallbacks
}

function install(tf: typeof tfjs, configs: readonly KernelConfig[]): void {
  for (const config of configs) {
    if (tf.getKernel(config.kernelName, 'wasm') != null) tf.unregisterKernel(config.kernelName, 'wasm')
    tf.registerKernel(config)
  }
}

/** Puts the wasm kernels back; the onnxruntime sessions stay cached for a switch back with the same threads. */
function restoreWasm(tf: typeof tfjs): void {
  if (installed == null || fallbacks == null) return
  const saved = fallbacks
  install(
    tf,
    TAKEN_OVER.map((kernelName) => ({ kernelName, backendName: 'wasm', kernelFunc: saved[kernelName] })),
  )
}

/**
 * Routes the `wasm` backend's convolutions (`Conv2D`, `FusedConv2D`, `Conv2DBackpropInput`,
 * `Conv2DBackpropFilter`) through onnxruntime-node's CPU provider, or back to the wasm kernels. Call it after
 * `registerWasmTrainingKernels`: the kernels registered then are what cases onnxruntime does not take (NCHW,
 * PReLU, non-float) fall back to, and what mode `wasm` restores. When onnxruntime cannot load, mode `onnx`
 * leaves the wasm kernels in place and says why in `reason`.
 *
 * @throws TfBackendError `tf_conv_mode_unknown` for a mode (or `GENIMAGE_TF_CONV`) other than `onnx`/`wasm`.
 * @example
 * registerWasmTrainingKernels(tf)
 * const { mode, reason } = useConvKernels(tf, { mode: 'onnx', threads: 2 })
 */
export function useConvKernels(tf: typeof tfjs, options: UseConvKernelsOptions): ConvKernelsStatus {
  const mode = wantedConvMode(options.mode)
  if (mode === 'wasm') {
    restoreWasm(tf)
    return { mode }
  }
  const reusable =
    installed != null &&
    options.loadRuntime == null &&
    installed.cache.threads === options.threads &&
    installed.cache.maxSessions === (options.maxSessions ?? DEFAULT_MAX_SESSIONS)
  if (installed != null && reusable) {
    if (installed.configs.some((c) => tf.getKernel(c.kernelName, 'wasm')?.kernelFunc !== c.kernelFunc)) install(tf, installed.configs)
    return { mode, cache: installed.cache }
  }
  let native: ReturnType<typeof loadOrtBinding>
  try {
    native = (options.loadRuntime ?? loadOrtBinding)()
  } catch (error) {
    restoreWasm(tf)
    return { mode: 'wasm', reason: `onnxruntime-node did not load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` }
  }
  restoreWasm(tf)
  installed?.cache.clear()
  const cache = new OrtSessionCache(native, { threads: options.threads, maxSessions: options.maxSessions })
  const configs = createOnnxConvKernels(cache, captureFallbacks(tf))
  install(tf, configs)
  installed = { cache, configs }
  return { mode, cache }
}
