import { type BackendFailure, createBackendRegistry } from '@genimage/shared'
import { OnnxGraphBuilder } from '@genimage/shared/onnx'
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
 */
export const executionProviders = createBackendRegistry<ExecutionProvider, undefined, undefined>({
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

async function probe(provider: ExecutionProvider): Promise<undefined> {
  if (!ort.listSupportedBackends().some((b) => b.name === provider)) throw new Error('not available in this onnxruntime-node build')
  const session = await ort.InferenceSession.create(identityGraph(), { executionProviders: [provider], intraOpNumThreads: 1, interOpNumThreads: 1 })
  await session.release()
  return undefined
}

executionProviders.register('cuda', 300, () => probe('cuda'))
executionProviders.register('webgpu', 200, () => probe('webgpu'))
executionProviders.register('cpu', 100, () => probe('cpu'))

/**
 * Opens an ONNX model with the first provider in `priority` that works, saying why the others were skipped.
 * Providers are probed once per process (see `executionProviders`); a provider that starts but cannot open this
 * model is skipped for this model only.
 * @throws NoExecutionProviderError listing every provider's failure when none opens the model.
 * @example const { session, provider } = await createSession(bytes, ['cuda', 'cpu'])
 */
export async function createSession(
  model: Uint8Array,
  priority: readonly string[] = EXECUTION_PROVIDERS,
  options: SessionTuning = {},
): Promise<ResolvedSession> {
  const { name, value, failures } = await executionProviders.resolve({
    order: priority,
    settings: undefined,
    use: (provider) =>
      ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
        ...(options.allowSpinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
      }),
  })
  return { session: value, provider: name, skipped: failures.map(toProviderFailure) }
}
