import cliProgress from 'cli-progress'

/** A progress bar on a terminal, plain lines at a steady rate elsewhere, nothing when machine-readable output was asked for. */
export interface Progress {
  /** False when nothing is shown, so callers can skip work done only for the bar (such as counting files first). */
  readonly active?: boolean
  start(total: number, label: string): void
  increment(by?: number): void
  setTotal(total: number): void
  stop(): void
}

/** How progress shows: a redrawn bar (terminals), one plain line every few seconds (logs, pipes, CI), or not at all. */
export type ProgressMode = 'bar' | 'lines' | 'off'

/** Seconds between two plain progress lines unless {@link PROGRESS_INTERVAL_ENV} says otherwise. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 5_000
/** Milliseconds between plain progress lines, e.g. `GENIMAGE_PROGRESS_INTERVAL_MS=30000` for a quieter log. */
export const PROGRESS_INTERVAL_ENV = 'GENIMAGE_PROGRESS_INTERVAL_MS'

export interface ProgressOptions {
  /** False: show nothing. True or unset: a bar when `stream` is a terminal, else plain lines. */
  enabled?: boolean
  /** Overrides what `enabled` and the stream decide. */
  mode?: ProgressMode
  /** Where progress goes (default stderr, so stdout stays clean for `--json`). */
  stream?: NodeJS.WriteStream | NodeJS.WritableStream
  /** Milliseconds between plain lines (default {@link PROGRESS_INTERVAL_ENV}, else 5000). */
  intervalMs?: number
}

/**
 * Creates the progress display: on a terminal a cli-progress bar; otherwise (a log file, a pipe, CI) one plain line
 * when a phase starts, then every `intervalMs` while it runs, and one when it ends, e.g.
 * `progress: verify 1200/5000 (24.0%), 310/s, 12 s elapsed, about 12 s left`.
 */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr
  const mode = options.mode ?? (options.enabled === false ? 'off' : (stream as NodeJS.WriteStream).isTTY ? 'bar' : 'lines')
  if (mode === 'off') return silentProgress
  if (mode === 'lines') return lineProgress(stream, options.intervalMs ?? intervalFromEnv())
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as NodeJS.WritableStream,
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

function intervalFromEnv(): number {
  const value = Number(process.env[PROGRESS_INTERVAL_ENV])
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_PROGRESS_INTERVAL_MS
}

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`)

/** One line now and then: the phase, done/total, percent, rate, elapsed and remaining time. */
export function formatProgressLine(label: string, done: number, total: number, elapsedMs: number): string {
  const percent = total > 0 ? ` (${((100 * done) / total).toFixed(1)}%)` : ''
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0
  const rateText = done > 0 && elapsedMs >= 1000 ? `, ${rate >= 10 ? Math.round(rate) : rate.toFixed(1)}/s` : ''
  const left = done > 0 && total > done && rate > 0 ? `, about ${seconds(((total - done) / rate) * 1000)} left` : ''
  return `progress: ${label} ${done}/${total}${percent}${rateText}, ${seconds(elapsedMs)} elapsed${left}`
}

function lineProgress(stream: NodeJS.WritableStream, intervalMs: number): Progress {
  let phase: { label: string; total: number; done: number; startedAt: number; timer: NodeJS.Timeout } | undefined
  const print = () => {
    if (phase) stream.write(`${formatProgressLine(phase.label, phase.done, phase.total, performance.now() - phase.startedAt)}\n`)
  }
  return {
    active: true,
    start(total, label) {
      if (phase) clearInterval(phase.timer)
      const timer = setInterval(print, intervalMs)
      timer.unref()
      phase = { label, total, done: 0, startedAt: performance.now(), timer }
      print()
    },
    increment(by = 1) {
      if (phase) phase.done += by
    },
    setTotal(total) {
      if (phase) phase.total = total
    },
    stop() {
      if (!phase) return
      clearInterval(phase.timer)
      print()
      phase = undefined
    },
  }
}

/** A progress sink that shows nothing, for library callers and tests. */
export const silentProgress: Progress = { start() {}, increment() {}, setTotal() {}, stop() {} }
