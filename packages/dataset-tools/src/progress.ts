import cliProgress from 'cli-progress'

/** A progress bar that stays quiet when output is not a terminal or when machine-readable output was asked for. */
export interface Progress {
  /** False when nothing is shown, so callers can skip work done only for the bar (such as counting files first). */
  readonly active?: boolean
  start(total: number, label: string): void
  increment(by?: number): void
  setTotal(total: number): void
  stop(): void
}

export interface ProgressOptions {
  /** Force the bar on or off; by default it shows when stderr is a terminal. */
  enabled?: boolean
}

/** Creates a cli-progress bar on stderr (stdout stays clean for `--json`). */
export function createProgress(options: ProgressOptions = {}): Progress {
  const enabled = options.enabled ?? Boolean(process.stderr.isTTY)
  if (!enabled) return { start() {}, increment() {}, setTotal() {}, stop() {} }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left',
      hideCursor: true,
      etaBuffer: 200,
    },
    cliProgress.Presets.shades_classic,
  )
  let started = false
  return {
    active: true,
    start(total, label) {
      started = true
      bar.start(total, 0, { label })
    },
    increment(by = 1) {
      if (started) bar.increment(by)
    },
    setTotal(total) {
      if (started) bar.setTotal(total)
    },
    stop() {
      if (started) bar.stop()
      started = false
    },
  }
}

/** A progress sink that shows nothing, for library callers and tests. */
export const silentProgress: Progress = { start() {}, increment() {}, setTotal() {}, stop() {} }
