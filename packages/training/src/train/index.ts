export { trainDetector, trainStep, type EpochRecord, type ResolvedTrainSettings, type TrainOptions, type TrainResult } from './train.ts'
export { trainEvents, type TrainRun } from './train-events.ts'
export {
  CheckpointMismatchError,
  TrainingCancelledError,
  type TrainCheckpointEvent,
  type TrainDoneEvent,
  type TrainEarlyStopEvent,
  type TrainEpochEvent,
  type TrainEvent,
  type TrainStartEvent,
  type TrainStepEvent,
} from './events.ts'
export { listGenerators, loadSplit, TrainingDataError, type LabelledImage } from './dataset.ts'
export { cosineLearningRate, Optimizer, type OptimizerConfig } from './optimizer.ts'
export { CheckpointError, type CheckpointErrorCode, loadCheckpoint, saveCheckpoint } from './checkpoint.ts'
export { scorePredictions, type EvaluationResult } from './evaluate.ts'
export { BatchSource, type Batch, type BatchSourceOptions } from './batches.ts'
export { makeSyntheticDataset, type SyntheticDatasetOptions } from './synthetic-dataset.ts'
