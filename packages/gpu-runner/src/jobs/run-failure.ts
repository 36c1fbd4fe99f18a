import { realpath } from 'node:fs/promises'
import { isInsideDataRoots } from '@genimage/shared'

const DATASET_NOT_FOUND = 'the data root, or a generator folder in it, is missing or not readable on the runner'

/**
 * What the API shows for a failed attempt, by error code. The text never carries the error's own message: that
 * names paths on this runner (and whether they exist), so it goes to the runner's log only.
 */
const PUBLIC_REASONS: Record<string, string> = {
  data_root_not_allowed: "the data root is not inside this runner's DATA_ROOTS",
  // One sentence for both, so a failure never tells whether a path exists on the runner.
  not_a_directory: DATASET_NOT_FOUND,
  unknown_generator: DATASET_NOT_FOUND,
  empty_split: 'a train or val split holds no image',
  empty_manifest: 'the dataset manifest lists no image for this run',
  corrupt_image: 'an image of the dataset could not be decoded',
  checkpoint_mismatch: "the run's checkpoint was written for another model or settings",
  checkpoint_corrupt: "the run's checkpoint could not be read",
  model_not_found: 'the model is not in the zoo of this runner',
  invalid_request: 'the runner refused the run settings',
}

/** A code fit to show: lower-case words, as this project's error codes are; anything else is not echoed. */
const SHOWABLE_CODE = /^[a-z][a-z0-9_]{0,40}$/

/**
 * The failure reason stored for the API: a fixed sentence per known error code, else a generic one that names
 * the code (or error class) and points to the runner's log, where the full message is written.
 * @example publicRunFailure(Object.assign(new Error('ENOENT /root/x'), { code: 'not_a_directory' }), 'job_1')
 */
export function publicRunFailure(error: unknown, jobId: string): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  if (typeof code === 'string' && code in PUBLIC_REASONS) return PUBLIC_REASONS[code] as string
  const name = error instanceof Error && /^[A-Za-z]{1,40}$/.test(error.name) ? error.name : 'error'
  const label = typeof code === 'string' && SHOWABLE_CODE.test(code) ? `${name} ${code}` : name
  return `the run failed on the runner (${label}); the runner's log has the details (job ${jobId})`
}

/** A run refused because its data root is outside the runner's allow-list; never retried. */
export class DataRootNotAllowedError extends Error {
  override name = 'DataRootNotAllowedError'
  readonly code = 'data_root_not_allowed'
  readonly retryable = false
}

/**
 * Checks a run's data root against the runner's DATA_ROOTS before anything is read: the path as given and, when it
 * exists, the path with symbolic links resolved (so a link inside an allowed root cannot lead out of it).
 * @throws DataRootNotAllowedError when either lies outside every root.
 */
export async function checkDataRoot(dataRoot: string, dataRoots: readonly string[] | undefined): Promise<void> {
  if (!dataRoots) return
  const resolvedRoots = await Promise.all(dataRoots.map((root) => realpath(root).catch(() => root)))
  const allowed = (path: string) => isInsideDataRoots(path, dataRoots) || isInsideDataRoots(path, resolvedRoots)
  if (!allowed(dataRoot)) throw new DataRootNotAllowedError(`data root ${dataRoot} is outside DATA_ROOTS (${dataRoots.join(', ')})`)
  const real = await realpath(dataRoot).catch(() => undefined)
  if (real !== undefined && !isInsideDataRoots(real, resolvedRoots)) {
    throw new DataRootNotAllowedError(`data root ${dataRoot} resolves to ${real}, outside DATA_ROOTS (${dataRoots.join(', ')})`)
  }
}

/** DATA_ROOTS as a list (comma-separated absolute paths); undefined when unset or empty. */
export function dataRootsFromEnv(value: string | undefined): string[] | undefined {
  const roots = value
    ?.split(',')
    .map((root) => root.trim())
    .filter(Boolean)
  return roots?.length ? roots : undefined
}
