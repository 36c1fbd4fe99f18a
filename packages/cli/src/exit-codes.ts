import { CommanderError, InvalidArgumentError } from 'commander'

/** The exit status of every `genimage` command. */
export const EXIT = {
  /** It did what was asked. */
  ok: 0,
  /** It failed, or it ran and found problems: `dataset verify` found bad files, `models list` refused a folder, an experiment did not succeed. */
  failed: 1,
  /** The command line or its input is wrong: an unknown command or option, a bad option value, a dataset error with a stable code. */
  usage: 2,
  /** Ctrl-C stopped it; running the same command again continues where it stopped. */
  interrupted: 130,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** The epilog of `genimage --help`. */
export const EXIT_STATUS_HELP = `
Exit status:
  ${EXIT.ok}    success
  ${EXIT.failed}    failure, or problems found (dataset verify, models list, an experiment that did not succeed)
  ${EXIT.usage}    usage error: unknown command or option, bad option value, or bad input (dataset errors print a stable code)
  ${EXIT.interrupted}  interrupted by Ctrl-C; run the same command again to continue`

/** Records how the command ends; a later, more specific status replaces an earlier one. */
export function exitWith(code: ExitCode): void {
  process.exitCode = code
}

/**
 * Ends the command after `error`: prints it as `genimage: <message>` unless commander already printed it (a usage
 * error it threw because the program calls `exitOverride()`), and sets the status: 0 after help or `--version`,
 * 2 for usage errors (an invalid value found inside an action included), else 1. A status set earlier is kept.
 */
export function endWithError(error: unknown): void {
  const printedByCommander = error instanceof CommanderError && !(error instanceof InvalidArgumentError)
  if (!printedByCommander) console.error(`genimage: ${error instanceof Error ? error.message : String(error)}`)
  const code = error instanceof CommanderError ? (error.exitCode === 0 ? EXIT.ok : EXIT.usage) : EXIT.failed
  process.exitCode = process.exitCode || code
}
