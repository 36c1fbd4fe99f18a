import { z } from 'zod'

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
})
export type MeasuredAccuracy = z.infer<typeof MeasuredAccuracy>

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
})
export type ModelCard = z.infer<typeof ModelCard>
export type ModelCardInput = z.input<typeof ModelCard>

/** ImageNet statistics used by timm models and the GenImage README's training recipe. */
export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406]
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225]
