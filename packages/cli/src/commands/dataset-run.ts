import { createProgress, DatasetError, type Progress } from '@genimage/dataset-tools'

/** Options every `genimage dataset` verb shares. */
export interface CommonDatasetOptions {
  json?: boolean
  progress?: boolean
}

/** What a verb returns: the machine-readable result, the lines a person reads, and whether it succeeded. */
export interface VerbOutcome {
  result: unknown
  summary: string[]
  ok: boolean
  interrupted?: boolean
}

/** Exit status when the user interrupted: run the same command again to continue. */
export const EXIT_INTERRUPTED = 130

/**
 * Runs one dataset verb: a progress bar on stderr (off with --json or when stderr is not a terminal), Ctrl-C stops
 * cleanly after the work in flight (a second Ctrl-C quits at once), then a summary or `--json` on stdout.
 */
export async function runDatasetVerb(
  options: CommonDatasetOptions,
  work: (context: { progress: Progress; signal: AbortSignal }) => Promise<VerbOutcome>,
): Promise<void> {
  const controller = new AbortController()
  const progress = createProgress({ enabled: options.json || options.progress === false ? false : undefined })
  const onInterrupt = () => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED)
    process.stderr.write('\nstopping after the files in flight; run the same command again to continue (Ctrl-C again to quit now)\n')
    controller.abort()
  }
  process.on('SIGINT', onInterrupt)
  try {
    const outcome = await work({ progress, signal: controller.signal })
    if (options.json) console.log(JSON.stringify(outcome.result, null, 2))
    else for (const line of outcome.summary) console.log(line)
    if (outcome.interrupted) {
      if (!options.json) console.log('interrupted: run the same command again to continue where it stopped')
      process.exitCode = EXIT_INTERRUPTED
    } else if (!outcome.ok) process.exitCode = 1
  } catch (error) {
    progress.stop()
    if (!(error instanceof DatasetError)) throw error
    if (options.json) console.log(JSON.stringify({ error: { code: error.code, message: error.message } }, null, 2))
    else console.error(`genimage dataset: ${error.code}: ${error.message}`)
    process.exitCode = 2
  } finally {
    process.off('SIGINT', onInterrupt)
  }
}

/** Parses a numeric option, failing with `bad_option` and the option's name. */
export function numberOption(name: string, value: string | undefined, integer = true): number | undefined {
  if (value === undefined) return undefined
  const parsed = Number(value)
  if (!Number.isFinite(parsed) || (integer && !Number.isInteger(parsed)))
    throw new DatasetError('bad_option', `${name} must be ${integer ? 'an integer' : 'a number'}, got "${value}"`)
  return parsed
}

/** Splits `a,b,c` into a list, or undefined. */
export function listOption(value: string | undefined): string[] | undefined {
  return value
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    : undefined
}

export const percent = (value: number) => `${(100 * value).toFixed(1)}%`
