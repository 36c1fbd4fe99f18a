import { z } from 'zod'
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
  out_of_distribution: OutOfDistribution,
  /** Probability per model label (`nature`, `ai`, or one per generator for attribution models). */
  scores: z.record(z.string(), z.number()),
  /** For attribution models: probability per generator, most likely first. */
  generators: z.array(z.object({ name: z.string(), probability: z.number() })).optional(),
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
})
export type DetectModel = z.infer<typeof DetectModel>

/** Response of `POST /v1/detect`. */
export const DetectResponse = z.object({
  id: z.string(),
  model: DetectModel,
  /** Verdict threshold: DETECT_THRESHOLD when set, else the card's calibrated threshold, else 0.5. */
  threshold: z.number(),
  threshold_source: z.enum(['config', 'calibration', 'default']),
  images: z.array(DetectedImage).min(1),
  timings: DetectTimings,
})
export type DetectResponse = z.infer<typeof DetectResponse>

/** Non-file fields of the multipart `POST /v1/detect` form. */
export const DetectForm = z.object({
  model: z.string().min(1).max(200).optional(),
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
})
export type ModelSummary = z.infer<typeof ModelSummary>

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
