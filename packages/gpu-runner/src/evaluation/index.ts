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
export { aiProbabilityOf, type ImageScorer, type ImageScorerOptions, NoModelFolderError, openImageScorer } from './image-scorer.ts'
export {
  type CalibrationSample,
  calibratedScores,
  calibrationNll,
  chooseThreshold,
  fitTemperature,
  type TemperatureFit,
  type ThresholdChoice,
  wilsonUpper95,
} from './calibrate.ts'
export { encodePhoto, encodingFalsePositives, generatedAccuracy, PHOTO_ENCODING_MEANING, PHOTO_ENCODINGS, type PhotoEncoding } from './real-photo-fpr.ts'
export {
  type CalibrateModelOptions,
  type CalibrationPhotos,
  CALIBRATION_METRIC_SPLIT,
  calibrateModelFolder,
  describeScoring,
  type ModelCalibrationResult,
  type OperatingPoint,
} from './calibrate-model.ts'
export { writeCalibratedCard } from './calibrated-card.ts'
