import { type BackendFailure, createBackendRegistry } from '@genimage/shared'
import { OnnxGraphBuilder } from '@genimage/shared/onnx'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { describeAdapter, probeWebGpuAdapterInfo, usableWebGpuAdapter, type WebGpuAdapterInfo } from '@genimage/training/webgpu'
import * as ort from 'onnxruntime-node'

/** Execution providers this runner knows, in the default order of preference. */
export const EXECUTION_PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number]

/** Why one execution provider was not used. */
export interface ProviderFailure {
  provider: ExecutionProvider
  reason: string
}

export interface ResolvedSession {
  session: ort.InferenceSession
  provider: ExecutionProvider
  /** Why each provider tried before the chosen one failed. */
  skipped: ProviderFailure[]
  /** The WebGPU adapter's one-line description, when the session runs on `webgpu`. */
  adapter?: string
}

/** CPU threading of a session. */
export interface SessionTuning {
  /** Threads one operator may use (onnxruntime's default: one per core). */
  intraOpThreads?: number
  /**
   * Whether idle pool threads spin waiting for work (onnxruntime's default: true). Spinning wins when the
   * session has the cores to itself; on a runner that also decodes images it steals their CPU.
   */
  allowSpinning?: boolean
}

/** How a session is opened: its CPU threading, and whether WebGPU was asked for by name. */
export interface SessionOptions extends SessionTuning {
  /**
   * The user named `webgpu` (EXECUTION_PROVIDERS set explicitly): a software adapter (lavapipe, SwiftShader) is used
   * too. Otherwise it is skipped with its reason, because on the CPU it is slower than the `cpu` provider.
   */
  forceWebGpu?: boolean
}

/** Thrown when no execution provider could open the model; the message lists each failure. */
export class NoExecutionProviderError extends Error {
  override name = 'NoExecutionProviderError'
  constructor(readonly failures: { provider: string; reason: string }[]) {
    super(`no execution provider could run the model:\n${failures.map((f) => `  - ${f.provider}: ${f.reason}`).join('\n')}`)
  }
}

/** A name in the priority list may be unknown: it is kept as given, with the reason saying so. */
const toProviderFailure = (failure: BackendFailure): ProviderFailure => ({
  provider: failure.name as ExecutionProvider,
  reason: failure.reason.slice(0, 300),
})

/**
 * Every execution provider with its priority (higher is tried first). A provider is probed once per process (each
 * worker thread has its own): it must be in this onnxruntime-node build and open a one-node graph; the outcome is
 * remembered, so a provider that cannot start is skipped with its reason instead of being tried for every model.
 * `webgpu` starts by finding an adapter in a child process (Dawn from the npm package `webgpu`; what Dawn and Vulkan
 * print while looking stays there), no shader compiled: the adapter's
 * info is what it remembers; whether a software adapter may be used is decided per session (`forceWebGpu`).
 */
export const executionProviders = createBackendRegistry<ExecutionProvider, undefined, WebGpuAdapterInfo | undefined>({
  label: 'provider',
  unavailable: (failures) => new NoExecutionProviderError(failures.map(toProviderFailure)),
})

let probeGraph: Uint8Array | undefined

/** A graph every provider can run: y = Identity(x), one float. */
function identityGraph(): Uint8Array {
  if (probeGraph == null) {
    const b = new OnnxGraphBuilder()
    b.output(b.node('Identity', [b.input('x', 'float32', [1])], {}, { output: 'y' }), 'float32', [1])
    probeGraph = b.toBytes()
  }
  return probeGraph
}

const inThisBuild = (provider: ExecutionProvider) => ort.listSupportedBackends().some((b) => b.name === provider)

/** The shared libraries onnxruntime loads for the CUDA provider, beside onnxruntime-node's binding (Linux names). */
const CUDA_PROVIDER_LIBRARIES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so']

/**
 * Why the CUDA provider cannot load, found without asking onnxruntime: a missing library makes it print a red
 * `FAIL : Failed to load library` line that no session log level silences. Undefined when the libraries are there.
 */
export function missingCudaLibraries(): string | undefined {
  if (process.platform !== 'linux') return undefined
  const binding = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', 'linux', process.arch)
  const missing = CUDA_PROVIDER_LIBRARIES.filter((file) => !existsSync(join(binding, file)))
  if (missing.length === 0) return undefined
  return `CUDA libraries not installed (${missing.join(', ')}: npm ci skips that download; infra/runner-cuda.Containerfile installs them)`
}

async function probe(provider: ExecutionProvider): Promise<undefined> {
  if (!inThisBuild(provider)) throw new Error('not available in this onnxruntime-node build')
  const missing = provider === 'cuda' ? missingCudaLibraries() : undefined
  if (missing) throw new Error(missing)
  const session = await ort.InferenceSession.create(identityGraph(), { executionProviders: [provider], intraOpNumThreads: 1, interOpNumThreads: 1 })
  await session.release()
  return undefined
}

executionProviders.register('cuda', 300, () => probe('cuda'))
executionProviders.register('webgpu', 200, async () => {
  if (!inThisBuild('webgpu')) throw new Error('not available in this onnxruntime-node build')
  return probeWebGpuAdapterInfo()
})
executionProviders.register('cpu', 100, () => probe('cpu'))

/**
 * Opens an ONNX model with the first provider in `priority` that works, saying why the others were skipped.
 * Providers are probed once per process (see `executionProviders`); a provider that starts but cannot open this
 * model is skipped for this model only. A software WebGPU adapter is skipped unless `options.forceWebGpu`.
 * @throws NoExecutionProviderError listing every provider's failure when none opens the model.
 * @example const { session, provider } = await createSession(bytes, ['cuda', 'cpu'])
 */
export async function createSession(
  model: Uint8Array,
  priority: readonly string[] = EXECUTION_PROVIDERS,
  options: SessionOptions = {},
): Promise<ResolvedSession> {
  const { name, value, failures } = await executionProviders.resolve({
    order: priority,
    settings: undefined,
    use: async (provider) => {
      const adapter = provider === 'webgpu' ? describeAdapter((await usableWebGpuAdapter(options.forceWebGpu === true)).info) : undefined
      return { adapter, session: await ort.InferenceSession.create(model, sessionOptions(provider, options)) }
    },
  })
  const { session, adapter } = value
  return { session, provider: name, skipped: failures.map(toProviderFailure), ...(adapter ? { adapter } : {}) }
}

/**
 * onnxruntime session options for one provider; the inference worker thread opens its session with the same.
 * Inputs and outputs stay in CPU memory on every provider. onnxruntime-node 1.30 honours `preferredOutputLocation:
 * 'gpu-buffer'` on `webgpu`, but such an output cannot reach the CPU (`data` throws "not on CPU"; `getData()` aborts the
 * process: its download is not implemented in the Node binding), and a `gpu-buffer` input is accepted only when
 * onnxruntime made it ("Tensor.gpuBuffer must be an external object"). A runner's batch comes from the CPU (decoded
 * images) and its scores go back to the CPU, so there is no device-resident hand-over to make.
 */
export function sessionOptions(provider: ExecutionProvider, tuning: SessionTuning = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    ...(tuning.intraOpThreads ? { intraOpNumThreads: tuning.intraOpThreads } : {}),
    ...(tuning.allowSpinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
  }
}
