import { z } from 'zod'
import { ModelEvidence } from './model-evidence.ts'

/** How an encoded image becomes the tensor a model expects. Transforms are derived from this, never hard-coded. */
export const InputConfig = z.object({
  /** Name of the image tensor input in the ONNX graph. */
  name: z.string().default('image'),
  layout: z.enum(['NCHW', 'NHWC']),
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  /**
   * `shorter-side-center-crop`: resize the shorter side to size / cropPct, then center-crop (timm's eval transform).
   * `center-crop`: crop the centre at full resolution (pad with edge pixels when smaller).
   * `stretch`: resize to exactly height × width, ignoring aspect ratio.
   */
  resize: z.enum(['shorter-side-center-crop', 'center-crop', 'stretch']),
  cropPct: z.number().gt(0).lte(1).default(1),
  interpolation: z.enum(['nearest', 'bilinear', 'bicubic', 'lanczos3']).default('bilinear'),
  channelOrder: z.enum(['RGB', 'BGR']).default('RGB'),
  /** Pixels are scaled to [0, 1] by 1/255, then normalised with (x - mean) / std per channel. */
  mean: z.tuple([z.number(), z.number(), z.number()]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  /** Native-resolution tiles and how their answers combine (see {@link ModelEvidence}); absent: one tensor per image. */
  evidence: ModelEvidence.optional(),
})
export type InputConfig = z.infer<typeof InputConfig>

/** binary: labels are ['nature', 'ai']; attribution: ['nature', ...one label per generator]. */
export const ModelTask = z.enum(['binary', 'attribution'])
export type ModelTask = z.infer<typeof ModelTask>

/** The model's output is logits of shape [N, labels.length]; the runner applies softmax. */
export const OutputConfig = z.object({
  name: z.string().default('logits'),
})
export type OutputConfig = z.infer<typeof OutputConfig>

export const ModelProvenance = z.object({
  /** trained: by this project's engine; imported: made elsewhere; handmade: fixed weights written by hand (not a trained detector). */
  kind: z.enum(['trained', 'imported', 'handmade']),
  createdAt: z.string(),
  /** The command that reproduces this model folder from scratch. */
  command: z.string().optional(),
  trainingData: z.string().optional(),
  notes: z.string().optional(),
})
export type ModelProvenance = z.infer<typeof ModelProvenance>

/** An accuracy the project measured, on a named dataset and split, optionally per generator. */
export const MeasuredAccuracy = z.object({
  dataset: z.string(),
  split: z.string(),
  accuracy: z.number().min(0).max(1),
  count: z.number().int().nonnegative(),
  perGenerator: z.record(z.string(), z.number().min(0).max(1)).optional(),
  /** The test-time degradation the images went through (a degradation id such as `jpeg-65`); absent: as stored. */
  degradation: z.string().optional(),
})
export type MeasuredAccuracy = z.infer<typeof MeasuredAccuracy>

/**
 * How an attribution model's answers spread over its labels on a named split: `counts[i][j]` images whose true
 * label is `labels[i]` got `labels[j]` as their highest-probability label.
 */
export const ConfusionMatrix = z
  .object({
    dataset: z.string(),
    split: z.string(),
    labels: z.array(z.string()).min(2),
    counts: z.array(z.array(z.number().int().nonnegative())),
  })
  .refine((m) => m.counts.length === m.labels.length && m.counts.every((row) => row.length === m.labels.length), 'counts must be labels × labels')
export type ConfusionMatrix = z.infer<typeof ConfusionMatrix>

/** An inclusive [min, max] range of a statistic over the training images. */
export const ValueRange = z.tuple([z.number(), z.number()]).refine(([min, max]) => min <= max, 'min must not exceed max')
export type ValueRange = z.infer<typeof ValueRange>

/**
 * What the model saw in training, so an answer can say when an image lies outside it. Colour statistics are per
 * channel (R, G, B) of the pixels the model's input transform produces, scaled to [0, 1] and before mean/std
 * normalisation; `score` is the range of the uncalibrated ai probability (1 − P(nature)) on the training images.
 */
export const TrainingProfile = z.object({
  /** Width and height range of the images as stored (before the input transform). */
  width: ValueRange,
  height: ValueRange,
  channelMean: z.tuple([ValueRange, ValueRange, ValueRange]),
  channelStd: z.tuple([ValueRange, ValueRange, ValueRange]),
  score: ValueRange.optional(),
  /** Images the ranges were computed on (0 when they come from the dataset's definition alone). */
  count: z.number().int().nonnegative(),
  /** How the ranges were obtained: the data, split and generators, and anything approximated. */
  method: z.string().min(1),
})
export type TrainingProfile = z.infer<typeof TrainingProfile>

/**
 * A fitted probability calibration. `temperature`: the ai probability is recomputed from the label probabilities
 * p as softmax(log p / temperature), i.e. the logits divided by `temperature`; `threshold` applies to that
 * calibrated probability.
 */
export const Calibration = z.object({
  method: z.literal('temperature'),
  temperature: z.number().positive(),
  threshold: z.number().min(0).max(1),
  fittedOn: z.object({
    dataset: z.string(),
    split: z.string(),
    count: z.number().int().positive(),
    /** e.g. "full-size real photographs as they are, PNG and JPEG q75–95; generated val images". */
    notes: z.string().optional(),
  }),
})
export type Calibration = z.infer<typeof Calibration>

/**
 * The ai probability after a temperature calibration: label probabilities p become softmax(log p / temperature)
 * (the logits divided by the temperature, which p determines up to a constant), then 1 − P(nature).
 */
export function temperatureScaledAiProbability(probabilities: ArrayLike<number>, natureIndex: number, temperature: number): number {
  let top = Number.NEGATIVE_INFINITY
  const logits: number[] = []
  for (let i = 0; i < probabilities.length; i++) {
    const logit = Math.log(Math.max(probabilities[i] as number, 1e-12)) / temperature
    logits.push(logit)
    top = Math.max(top, logit)
  }
  const weights = logits.map((l) => Math.exp(l - top))
  const total = weights.reduce((sum, w) => sum + w, 0)
  return Math.min(1, Math.max(0, 1 - (weights[natureIndex] ?? 0) / total))
}

/** False positives among real photographs in one encoding, at the verdict threshold of the record. */
export const EncodingFalsePositives = z.object({
  /** `as-is` (the file as shipped), `png` (re-encoded), `jpeg-q75`, `jpeg-q85`, `jpeg-q95` (re-encoded at that quality). */
  encoding: z.string().min(1),
  count: z.number().int().nonnegative(),
  falsePositives: z.number().int().nonnegative(),
  rate: z.number().min(0).max(1),
  /** Wilson score 95% upper bound of the rate: with 30 photos one false positive is 3.3%, and the bound says how little that proves. */
  upper95: z.number().min(0).max(1),
})
export type EncodingFalsePositives = z.infer<typeof EncodingFalsePositives>

/**
 * How often the model calls real photographs at full size AI, per encoding, measured on photos no fit used (the
 * calibration photos' `test` split), with the threshold and probability the edge answers with.
 */
export const RealPhotoFalsePositives = z.object({
  dataset: z.string().min(1),
  split: z.string().min(1),
  /** The verdict is `ai` when the (calibrated) ai probability is at or above this. */
  threshold: z.number().min(0).max(1),
  /** Whether the probability compared with the threshold was the calibrated one. */
  calibrated: z.boolean(),
  encodings: z.array(EncodingFalsePositives).min(1),
  /** The same photos before calibration: the uncalibrated probability at 0.5, so the change is on record. */
  uncalibrated: z.object({ threshold: z.number().min(0).max(1), encodings: z.array(EncodingFalsePositives).min(1) }).optional(),
  /** How the images reached the model (full size, tiles or centre crop) and anything else a reader must know. */
  notes: z.string().optional(),
})
export type RealPhotoFalsePositives = z.infer<typeof RealPhotoFalsePositives>

/** `card.json` beside `model.onnx` in a model folder. */
export const ModelCard = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-"'),
  version: z.string().min(1),
  description: z.string().default(''),
  architecture: z.string(),
  task: ModelTask,
  labels: z.array(z.string()).min(2),
  file: z.string().default('model.onnx'),
  /** sha256 of the .onnx file, hex. The runner refuses a model whose file does not match. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  input: InputConfig,
  output: OutputConfig.default({ name: 'logits' }),
  provenance: ModelProvenance,
  /** Measured accuracy; empty when nobody measured it (say so rather than guess). */
  metrics: z.array(MeasuredAccuracy).default([]),
  /** Attribution models: the confusion matrix of their labels on a held-out split; absent: not measured. */
  confusion: ConfusionMatrix.optional(),
  /**
   * One line every detect answer repeats, naming the training data and what it is not, e.g. "GenImage-mini
   * (128-px crops of 4 toy generators), not real text-to-image generators". Required for new cards
   * ({@link NewModelCard}); older cards without it still load.
   */
  trainedOn: z.string().min(1).max(300).optional(),
  /** Fitted calibration of the ai probability; absent: answers say `calibrated: false`. */
  calibration: Calibration.optional(),
  /** False-positive rates on held-out full-size real photographs at the served threshold; absent: never measured. */
  realPhotoFalsePositives: RealPhotoFalsePositives.optional(),
  /** What the model saw in training; absent: answers cannot flag out-of-distribution images and say so. */
  trainingProfile: TrainingProfile.optional(),
  /** This model answers requests that name none. At most one served model may claim it. */
  default: z.boolean().optional(),
})
export type ModelCard = z.infer<typeof ModelCard>
export type ModelCardInput = z.input<typeof ModelCard>

/** The card every model folder written from now on must have: `trainedOn` is required. */
export const NewModelCard = ModelCard.extend({ trainedOn: z.string().min(1).max(300) })
export type NewModelCard = z.infer<typeof NewModelCard>

/** ImageNet statistics used by timm models and the GenImage README's training recipe. */
export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406]
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225]

/**
 * The runner's extra Open Inference Protocol output beside the probabilities, FP32 of shape [n, 6]: per image the
 * R, G, B means then the R, G, B standard deviations of the pixels the model looked at, in the space of
 * {@link TrainingProfile} (so answers can compare them with what the model saw in training).
 */
export const INPUT_STATISTICS_OUTPUT = 'input_statistics'

/**
 * The R, G, B means then standard deviations of a model input tensor's pixels, undoing the card's mean/std
 * normalisation (pixels in [0, 1]): the space of {@link TrainingProfile} and {@link INPUT_STATISTICS_OUTPUT}.
 */
export function channelStatistics(tensor: Float32Array, input: Pick<InputConfig, 'layout' | 'height' | 'width' | 'channelOrder' | 'mean' | 'std'>): number[] {
  const pixels = input.height * input.width
  const sums = [0, 0, 0]
  const squares = [0, 0, 0]
  for (let c = 0; c < 3; c++) {
    const rgb = input.channelOrder === 'BGR' ? 2 - c : c
    const scale = input.std[c] as number
    const shift = input.mean[c] as number
    for (let i = 0; i < pixels; i++) {
      const x = (tensor[input.layout === 'NCHW' ? c * pixels + i : i * 3 + c] as number) * scale + shift
      sums[rgb] = (sums[rgb] as number) + x
      squares[rgb] = (squares[rgb] as number) + x * x
    }
  }
  const means = sums.map((s) => s / pixels)
  const stds = squares.map((s, c) => Math.sqrt(Math.max(0, s / pixels - (means[c] as number) ** 2)))
  return [...means, ...stds]
}
