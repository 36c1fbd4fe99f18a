/** Training has begun (or resumed). */
export interface TrainStartEvent {
  type: 'start'
  model: string
  backend: string
  epochs: number
  stepsPerEpoch: number
  totalSteps: number
  trainImages: number
  valImages: number
  /** Step the run continues from (0 for a fresh run). */
  resumedFromStep: number
}

/** One optimizer step finished. */
export interface TrainStepEvent {
  type: 'step'
  /** 1-based epoch. */
  epoch: number
  epochs: number
  /** Steps completed so far (1-based). */
  step: number
  totalSteps: number
  loss: number
  learningRate: number
  imagesPerSecond: number
  /** Seconds left at the current pace, validation excluded. */
  etaSeconds: number
}

/** An epoch finished and was validated. */
export interface TrainEpochEvent {
  type: 'epoch'
  epoch: number
  epochs: number
  trainLoss: number
  /** Accuracy on the val split of the training generators. */
  valAccuracy: number
  /** Val accuracy per generator, including generators not trained on. */
  perGenerator: Record<string, number>
  isBest: boolean
}

export interface TrainCheckpointEvent {
  type: 'checkpoint'
  step: number
  path: string
}

export interface TrainEarlyStopEvent {
  type: 'early-stop'
  epoch: number
  bestEpoch: number
}

export interface TrainDoneEvent {
  type: 'done'
  steps: number
  bestEpoch: number
  valAccuracy: number
  seconds: number
}

/** Everything the training loop reports; the job system and the CLI progress bar consume the same stream. */
export type TrainEvent = TrainStartEvent | TrainStepEvent | TrainEpochEvent | TrainCheckpointEvent | TrainEarlyStopEvent | TrainDoneEvent

/** Thrown when training stops because its AbortSignal fired; a checkpoint was written first. */
export class TrainingCancelledError extends Error {
  override name = 'TrainingCancelledError'
  readonly code = 'cancelled'
  constructor(readonly step: number) {
    super(`training cancelled at step ${step}`)
  }
}

/** Thrown when a checkpoint directory holds a run with different settings. */
export class CheckpointMismatchError extends Error {
  override name = 'CheckpointMismatchError'
  readonly code = 'checkpoint_mismatch'
  constructor(dir: string) {
    super(`the checkpoint in ${dir} belongs to a run with different model, data or settings; use a new checkpoint directory or delete it`)
  }
}
