import type { ExperimentProgressEvent } from '@genimage/shared'
import cliProgress from 'cli-progress'

/** `run  3 npr-tiny on SD V1.4 s0`: one run, as every experiment view names it. */
export const describeRun = (run: ExperimentProgressEvent['runs'][number]) =>
  `run ${String(run.index).padStart(2)} ${run.model} on ${run.trainOn.join('+')} s${run.seed}`

/** A run's state in a few words: its phase, epoch, loss and ETA while running, else its final state. */
export function runStatus(run: ExperimentProgressEvent['runs'][number]): string {
  const p = run.progress
  if (run.state !== 'running')
    return (
      run.state +
      (run.failureReason && run.state !== 'succeeded' ? `: ${run.failureReason}` : '') +
      (run.state === 'succeeded' ? ` (${run.metrics} metrics)` : '')
    )
  if (p.phase === 'evaluating') return `evaluating ${p.cellsDone}/${p.cellsTotal} cells`
  const retry = run.attempts > 1 ? ` attempt ${run.attempts}${p.resumedFromStep ? ` resumed@${p.resumedFromStep}` : ''}` : ''
  return `${p.phase === 'queued' ? 'starting' : p.phase} epoch ${p.epoch}/${p.epochs}${p.loss === null ? '' : ` loss ${p.loss.toFixed(3)}`}${p.etaSeconds === null ? '' : ` ETA ${Math.round(p.etaSeconds)}s`}${retry}`
}

/** Draws one bar per run on a terminal, or prints a line whenever a run's state or epoch changes. */
export function progressView(json: boolean): { update(event: ExperimentProgressEvent): void; stop(): void } {
  if (json) return { update: (e) => console.log(JSON.stringify(e)), stop: () => {} }
  if (!process.stderr.isTTY) {
    // A line when a run's state, phase, epoch or evaluation cell changes, and while it trains at most one per interval
    // with its step, so that a log shows steady progress through long epochs.
    const seen = new Map<string, { key: string; step: number; at: number }>()
    const intervalMs = Number(process.env.GENIMAGE_PROGRESS_INTERVAL_MS) > 0 ? Number(process.env.GENIMAGE_PROGRESS_INTERVAL_MS) : 5000
    return {
      update(event) {
        const now = performance.now()
        for (const run of event.runs) {
          const key = `${run.state}|${run.progress.phase}|${run.progress.epoch}|${run.attempts}|${run.progress.cellsDone}`
          const last = seen.get(run.id)
          const stepped = last !== undefined && run.progress.step !== last.step && now - last.at >= intervalMs
          if (last?.key === key && !stepped) continue
          seen.set(run.id, { key, step: run.progress.step, at: now })
          const step = run.state === 'running' && run.progress.totalSteps > 0 ? ` (step ${run.progress.step}/${run.progress.totalSteps})` : ''
          console.error(`${describeRun(run)}: ${runStatus(run)}${step}`)
        }
      },
      stop: () => {},
    }
  }
  const multibar = new cliProgress.MultiBar(
    { format: '{name} |{bar}| {value}/{total} {status}', hideCursor: true, clearOnComplete: false, gracefulExit: false },
    cliProgress.Presets.shades_classic,
  )
  const bars = new Map<string, cliProgress.SingleBar>()
  return {
    update(event) {
      for (const run of event.runs) {
        const total = Math.max(1, run.progress.totalSteps + run.progress.cellsTotal)
        const value = run.state === 'succeeded' ? total : run.progress.step + run.progress.cellsDone
        const payload = { name: describeRun(run), status: runStatus(run) }
        const bar = bars.get(run.id) ?? multibar.create(total, value, payload)
        bars.set(run.id, bar)
        bar.setTotal(total)
        bar.update(value, payload)
      }
    },
    stop: () => multibar.stop(),
  }
}
