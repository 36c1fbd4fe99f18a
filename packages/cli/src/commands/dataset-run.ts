import { createProgress, DatasetError, type Progress } from '@genimage/dataset-tools'
import { EXIT, exitWith } from '../exit-codes.ts'
import { OptionValueError } from '../options.ts'

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

/**
 * Runs one dataset verb: a progress bar on stderr (off with --json or when stderr is not a terminal), Ctrl-C stops
 * cleanly after the work in flight (a second Ctrl-C quits at once), then a summary or `--json` on stdout.
 * Exit status (see `exit-codes.ts`): 1 when the verb found problems, 2 with a stable code for a {@link DatasetError}
 * (printed as JSON with `--json`), 130 when interrupted.
 */
export async function runDatasetVerb(
  options: CommonDatasetOptions,
  work: (context: { progress: Progress; signal: AbortSignal }) => Promise<VerbOutcome>,
): Promise<void> {
  const controller = new AbortController()
  const progress = createProgress({ enabled: options.json || options.progress === false ? false : undefined })
  const onInterrupt = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted)
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
      exitWith(EXIT.interrupted)
    } else if (!outcome.ok) exitWith(EXIT.failed)
  } catch (error) {
    progress.stop()
    if (!(error instanceof DatasetError)) throw error
    if (options.json) console.log(JSON.stringify({ error: { code: error.code, message: error.message } }, null, 2))
    else console.error(`genimage dataset: ${error.code}: ${error.message}`)
    exitWith(EXIT.usage)
  } finally {
    process.off('SIGINT', onInterrupt)
  }
}

/**
 * Parses a dataset verb's option with one of the CLI's parsers (`options.ts`) inside the verb, so that a bad value
 * is a `bad_option` {@link DatasetError} that `--json` reports like any other: `--size must be an integer, got "x"`.
 */
export function optionValue<T>(name: string, value: string | undefined, parse: (text: string) => T): T | undefined {
  if (value === undefined) return undefined
  try {
    return parse(value)
  } catch (error) {
    if (error instanceof OptionValueError) throw new DatasetError('bad_option', `${name} must be ${error.requirement}, got "${value}"`)
    throw error
  }
}

export const percent = (value: number) => `${(100 * value).toFixed(1)}%`
