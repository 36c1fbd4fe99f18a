import { type ExperimentState, type RunCounts, RunProgress, type RunState } from '../contracts/experiments.ts'

/** States an experiment or a run never leaves. */
export const FINAL_STATES = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly ExperimentState[]

/** States of a run that may still change: waiting for a runner or held by one. */
export const UNFINISHED_RUN_STATES = ['queued', 'running'] as const satisfies readonly RunState[]

export type FinalState = (typeof FINAL_STATES)[number]

/**
 * True once an experiment (or a run) can change no more.
 * @example if (isFinalState(event.state)) stopFollowing()
 */
export function isFinalState(state: ExperimentState | RunState): state is FinalState {
  return (FINAL_STATES as readonly string[]).includes(state)
}

/** An experiment's state follows from its runs; a cancel recorded on the experiment wins. */
export function deriveExperimentState(cancelled: boolean, counts: RunCounts): ExperimentState {
  if (cancelled) return 'cancelled'
  if (counts.running > 0) return 'running'
  if (counts.queued > 0) return counts.succeeded + counts.failed > 0 ? 'running' : 'queued'
  if (counts.failed > 0) return 'failed'
  if (counts.succeeded > 0) return 'succeeded'
  return 'cancelled'
}

/** The progress of a run no runner has started yet: every counter at zero. */
export const QUEUED_PROGRESS: RunProgress = RunProgress.parse({
  phase: 'queued',
  step: 0,
  totalSteps: 0,
  epoch: 0,
  epochs: 0,
  loss: null,
  imagesPerSecond: null,
  etaSeconds: null,
  resumedFromStep: 0,
  backend: null,
})
