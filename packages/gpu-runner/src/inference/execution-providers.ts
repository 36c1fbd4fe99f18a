import * as ort from 'onnxruntime-node'

/** Execution providers this runner knows, in the default order of preference. */
export const EXECUTION_PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number]

export interface ResolvedSession {
  session: ort.InferenceSession
  provider: ExecutionProvider
  /** Why each provider tried before the chosen one failed. */
  skipped: { provider: ExecutionProvider; reason: string }[]
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

/**
 * Opens an ONNX model with the first provider in `priority` that works, remembering why the others failed.
 * @example const { session, provider } = await createSession(bytes, ['cuda', 'cpu'])
 */
export async function createSession(
  model: Uint8Array,
  priority: readonly string[] = EXECUTION_PROVIDERS,
  options: SessionTuning = {},
): Promise<ResolvedSession> {
  const failures: { provider: ExecutionProvider; reason: string }[] = []
  const installed = new Map(ort.listSupportedBackends().map((b) => [b.name, b]))
  for (const name of priority) {
    if (!isKnownProvider(name)) {
      failures.push({ provider: name as ExecutionProvider, reason: `unknown provider (known: ${EXECUTION_PROVIDERS.join(', ')})` })
      continue
    }
    if (!installed.has(name)) {
      failures.push({ provider: name, reason: 'not available in this onnxruntime-node build' })
      continue
    }
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [name],
        graphOptimizationLevel: 'all',
        ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
        ...(options.allowSpinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
      })
      return { session, provider: name, skipped: failures }
    } catch (error) {
      failures.push({ provider: name, reason: firstLine(error) })
    }
  }
  throw new NoExecutionProviderError(failures)
}

function isKnownProvider(name: string): name is ExecutionProvider {
  return (EXECUTION_PROVIDERS as readonly string[]).includes(name)
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0]?.slice(0, 300) ?? message
}
