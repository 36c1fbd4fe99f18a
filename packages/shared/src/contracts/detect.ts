import { z } from 'zod'

export const Verdict = z.enum(['ai', 'real'])
export type Verdict = z.infer<typeof Verdict>

export const ModelRef = z.object({ name: z.string(), version: z.string() })
export type ModelRef = z.infer<typeof ModelRef>

/** One scored image of a `POST /v1/detect` request, in upload order. */
export const DetectedImage = z.object({
  index: z.number().int().nonnegative(),
  filename: z.string().optional(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  /** Probability that the image is AI-generated: 1 − P(nature). */
  ai_generated: z.number().min(0).max(1),
  verdict: Verdict,
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

/** Response of `POST /v1/detect`. */
export const DetectResponse = z.object({
  id: z.string(),
  model: ModelRef,
  threshold: z.number(),
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
