import { ExperimentSpec, isInsideDataRoots } from '@genimage/shared'
import { expandProtocol, type PlannedRun, ProtocolError } from '@genimage/shared/genimage'
import { ApiError } from '../errors.ts'

/** A 400 `invalid_request` that names the offending field of the spec in its message and `details.field`. */
export function invalidSpec(field: string, message: string, details: Record<string, unknown> = {}): ApiError {
  return new ApiError('invalid_request', `${field || 'body'}: ${message}`, { details: { field: field || 'body', ...details } })
}

/** Whether a Content-Type header names JSON: `application/json`, with parameters or not. */
export function isJsonContentType(contentType: string | undefined): boolean {
  return /^application\/json\s*(;|$)/i.test(contentType?.trim() ?? '')
}

/**
 * Reads a JSON request body of at most `maxBytes`: 415 `unsupported_media_type` unless it is declared
 * `application/json` (so a web page cannot send one with a plain form or `text/plain`), 413 `payload_too_large`
 * for a declared length over the limit before reading a byte, and as soon as a body without one passes it.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  if (!isJsonContentType(request.headers.get('content-type') ?? undefined)) {
    throw new ApiError('unsupported_media_type', 'send the body as JSON with `content-type: application/json`')
  }
  const tooLarge = () => new ApiError('payload_too_large', `request body is over the limit of ${maxBytes} bytes`, { details: { limit: maxBytes } })
  const declared = Number(request.headers.get('content-length') ?? Number.NaN)
  if (declared > maxBytes) {
    await request.body?.cancel().catch(() => {})
    throw tooLarge()
  }
  const chunks: Uint8Array[] = []
  let received = 0
  if (request.body) {
    const reader = request.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      received += value.byteLength
      if (received > maxBytes) {
        await reader.cancel().catch(() => {})
        throw tooLarge()
      }
      chunks.push(value)
    }
  }
  const bytes = new Uint8Array(received)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw invalidSpec('body', 'expected a JSON object (content-type: application/json)')
  }
}

/** Validates a body as an ExperimentSpec: 400 naming the first offending field, with every issue in `details.issues`. */
export function parseSpec(body: unknown): ExperimentSpec {
  const parsed = ExperimentSpec.safeParse(body)
  if (parsed.success) return parsed.data
  const first = parsed.error.issues[0]!
  const field = first.path.map(String).join('.')
  const message = first.code === 'unrecognized_keys' ? `unknown field(s) ${first.keys.join(', ')}` : first.message
  throw invalidSpec(field || (first.code === 'unrecognized_keys' ? first.keys.join(',') : ''), message, {
    issues: parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
  })
}

export interface ExperimentLimits {
  /** Most runs the spec may expand into. */
  maxRuns: number
  /** Folders `dataRoot` must lie in; undefined: any absolute path. */
  dataRoots?: readonly string[]
}

/**
 * Checks a spec against this deployment's limits and expands it into runs: 400 `invalid_request` with field
 * `dataRoot` outside the allowed roots, with field `runs` (and `details.runs`, `details.limit`) past the run budget.
 */
export function planExperiment(spec: ExperimentSpec, limits: ExperimentLimits): PlannedRun[] {
  if (limits.dataRoots && !isInsideDataRoots(spec.dataRoot, limits.dataRoots)) {
    throw invalidSpec('dataRoot', `not inside a data root this deployment allows (DATA_ROOTS): ${limits.dataRoots.join(', ')}`, {
      allowed: [...limits.dataRoots],
    })
  }
  let runs: PlannedRun[]
  try {
    runs = expandProtocol(spec)
  } catch (error) {
    if (error instanceof ProtocolError) throw invalidSpec(error.field, error.message.slice(error.field.length + 2))
    throw error
  }
  if (runs.length > limits.maxRuns) {
    throw invalidSpec(
      'runs',
      `the spec expands into ${runs.length} runs; this deployment allows at most ${limits.maxRuns} per experiment (MAX_EXPERIMENT_RUNS)`,
      {
        runs: runs.length,
        limit: limits.maxRuns,
      },
    )
  }
  return runs
}
