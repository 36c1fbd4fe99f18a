import { z } from 'zod'
import { ContentCredentials } from './content-credentials.ts'
import { ModelCard } from './model-card.ts'
import { RunnerModelExecution } from './pool.ts'

export const Verdict = z.enum(['ai', 'real'])
export type Verdict = z.infer<typeof Verdict>

export const ModelRef = z.object({ name: z.string(), version: z.string() })
export type ModelRef = z.infer<typeof ModelRef>

/** Outcome of one out-of-distribution check: `unknown` when the card or the image does not say. */
export const DistributionCheck = z.enum(['inside', 'outside', 'unknown'])
export type DistributionCheck = z.infer<typeof DistributionCheck>

/**
 * Whether the image lies outside what the model saw in training (the card's `trainingProfile`): its stored size,
 * the colour statistics of the pixels the model looked at, or the model's score. `reasons` says which and why,
 * one sentence per check that is not `inside`.
 */
export const OutOfDistribution = z.object({
  flagged: z.boolean(),
  checks: z.object({ size: DistributionCheck, colour: DistributionCheck, score: DistributionCheck }),
  reasons: z.array(z.string()),
})
export type OutOfDistribution = z.infer<typeof OutOfDistribution>

/** One scored image of a `POST /v1/detect` request, in upload order. */
export const DetectedImage = z.object({
  index: z.number().int().nonnegative(),
  filename: z.string().optional(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  /** The model's uncalibrated probability that the image is AI-generated: 1 − P(nature). */
  ai_generated: z.number().min(0).max(1),
  /** Whether the model card holds a fitted calibration; when false, `calibrated_probability` is null. */
  calibrated: z.boolean(),
  /** `ai_generated` after the card's calibration (e.g. temperature scaling); null when the model has none. */
  calibrated_probability: z.number().min(0).max(1).nullable(),
  /** `ai` when the calibrated probability (or `ai_generated` when uncalibrated) is at or above `threshold`. */
  verdict: Verdict,
  /**
   * What decided the verdict: `score` (the rule above) or `content_credentials` (valid C2PA credentials that declare
   * AI generation make it `ai` whatever the score; untrusted or invalid ones never change it).
   */
  verdict_reason: z
    .enum(['score', 'content_credentials'])
    .optional()
    .describe('content_credentials: valid C2PA credentials declaring AI generation made the verdict ai whatever the score; untrusted or invalid ones never do'),
  /** The image's C2PA content credentials; null when the runner that scored it does not read them. */
  content_credentials: ContentCredentials.nullable().optional(),
  out_of_distribution: OutOfDistribution,
  /** Probability per model label (`nature`, `ai`, or one per generator for attribution models). */
  scores: z.record(z.string(), z.number()),
  /**
   * For attribution models (labels beyond `nature` and `ai`): probability per generator, most likely first. The
   * runner's softmax covers `nature` too, so the probabilities sum to `ai_generated` (1 − P(nature)), not to 1.
   * Absent for binary models.
   */
  generators: z
    .array(z.object({ name: z.string(), probability: z.number().min(0).max(1) }))
    .optional()
    .describe(
      'attribution models only (labels beyond nature and ai), absent for binary ones: probability per generator label, most likely first; ' +
        'the softmax covers nature too, so they sum to ai_generated (1 - P(nature)), not to 1',
    ),
  detection_id: z.string(),
})
export type DetectedImage = z.infer<typeof DetectedImage>

export const DetectTimings = z.object({
  total_ms: z.number(),
  runner_ms: z.number(),
})
export type DetectTimings = z.infer<typeof DetectTimings>

/** The model that answered, with the one line naming what it was trained on. */
export const DetectModel = ModelRef.extend({
  /** e.g. "GenImage-mini (128-px crops of 4 toy generators), not real text-to-image generators". */
  training_data: z.string(),
  /** Where this model's card and its runners are: `GET /v1/models/{name}`, as a path on this API. */
  docs: z.string().optional(),
})
export type DetectModel = z.infer<typeof DetectModel>

/** The most models one `POST /v1/detect` may name (`-F model=a -F model=b`); each one is a runner call. */
export const MAX_MODELS_PER_REQUEST = 4

export const ThresholdSource = z.enum(['config', 'calibration', 'default'])
export type ThresholdSource = z.infer<typeof ThresholdSource>

/** One named model's answer when a request names several: its own threshold, images (own detection ids) and runner time. */
export const DetectModelResult = z.object({
  model: DetectModel,
  threshold: z.number(),
  threshold_source: ThresholdSource,
  images: z.array(DetectedImage).min(1),
  runner_ms: z.number(),
})
export type DetectModelResult = z.infer<typeof DetectModelResult>

/**
 * Response of `POST /v1/detect`. The top level is the answer of the first (or only) named model; a request that names
 * several models adds `results`, one entry per model in the order named (the first repeats the top level).
 */
export const DetectResponse = z.object({
  id: z.string(),
  model: DetectModel,
  /** Verdict threshold: DETECT_THRESHOLD when set, else the card's calibrated threshold, else 0.5. */
  threshold: z.number(),
  threshold_source: ThresholdSource,
  images: z.array(DetectedImage).min(1),
  /** `runner_ms` sums the runner calls when several models were named. */
  timings: DetectTimings,
  /** Only when the request named several models: each model's answer in the order named (the first is the top level). */
  results: z
    .array(DetectModelResult)
    .min(2)
    .max(MAX_MODELS_PER_REQUEST)
    .optional()
    .describe(
      "only when the request named several models: each model's answer in the order named, each from its own runner call and " +
        'with its own detection ids; the top-level model, threshold and images are the first entry',
    ),
})
export type DetectResponse = z.infer<typeof DetectResponse>

/** Non-file fields of the multipart `POST /v1/detect` form. */
export const DetectForm = z.object({
  /** One model name, or several (repeat the field, at most {@link MAX_MODELS_PER_REQUEST}) to have each one score the images. */
  model: z
    .union([z.string().min(1).max(200), z.array(z.string().min(1).max(200)).min(1).max(MAX_MODELS_PER_REQUEST)])
    .optional()
    .describe(
      `the model to score with (default: the served default); repeat the field to name up to ${MAX_MODELS_PER_REQUEST} models, each answered in results`,
    ),
  /** An http(s) URL the edge fetches the image from, when the deployment enables URL input. */
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
})
export type DetectForm = z.infer<typeof DetectForm>

export const ModelSummary = z.object({
  name: z.string(),
  version: z.string(),
  task: z.string(),
  architecture: z.string(),
  labels: z.array(z.string()),
  input: z.object({ height: z.number(), width: z.number() }),
  provenance: z.string(),
  description: z.string(),
  metrics: z.array(z.object({ dataset: z.string(), split: z.string(), accuracy: z.number() })),
  /** Runners currently serving it. */
  runners: z.number().int().nonnegative(),
  /** Each of those runners with the execution provider (and WebGPU adapter) it runs the model on. */
  served_by: z.array(RunnerModelExecution),
  /** Where this model's full card is: `GET /v1/models/{name}`, as a path on this API. */
  docs: z.string().optional(),
})
export type ModelSummary = z.infer<typeof ModelSummary>

/**
 * Response of `GET /v1/models/{name}`: the summary plus the model's whole card as its runner serves it
 * (calibration, training profile, measured false-positive rates); `card` is null for a runner that sends none
 * (a Triton or KServe server).
 */
export const ModelDetail = ModelSummary.extend({ card: ModelCard.nullable() })
export type ModelDetail = z.infer<typeof ModelDetail>

/** Response of `GET /v1/models`. `hint` says how to get a model when there is none. */
export const ModelsResponse = z.object({
  models: z.array(ModelSummary),
  hint: z.string().optional(),
})
export type ModelsResponse = z.infer<typeof ModelsResponse>

export const HealthResponse = z.object({
  status: z.enum(['ok', 'degraded']),
  runners: z.object({ total: z.number(), ready: z.number() }),
  models: z.number(),
  database: z.enum(['ok', 'error']),
})
export type HealthResponse = z.infer<typeof HealthResponse>
