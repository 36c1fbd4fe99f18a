export { JobQueue, type ClaimedJob, type HeartbeatOutcome, type JobQueueOptions } from './job-queue.ts'
export { INITIAL_PROGRESS, JobWorker, type JobEnd, type JobWorkerOptions, type RunContext, type RunExecutor, type RunOutcome } from './job-worker.ts'
export { trainingExecutor } from './training-executor.ts'
export { startTrainWorker, type RunningTrainWorker, type TrainWorkerSettings } from './start-worker.ts'
