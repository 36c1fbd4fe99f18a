export {
  averagePrecision,
  bootstrapAccuracyInterval,
  detectionMetrics,
  rocAuc,
  type DetectionMetrics,
  type MetricOptions,
  type ScoredImage,
} from './metrics.ts'
export { type TestImageDegrader, testImageDegrader } from './degrade.ts'
export { evaluateModelFolder, type EvaluateOptions } from './evaluate-model.ts'
