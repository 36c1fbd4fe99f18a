import { z } from 'zod'
import { ModelExecution } from './inference.ts'

/** What a runner can do: serve `detect` requests, claim `train` jobs, or both. */
export const RunnerCapability = z.enum(['detect', 'train'])
export type RunnerCapability = z.infer<typeof RunnerCapability>

/**
 * How a runner announces itself in the registry (table `runners`). `name` is unique per runner process;
 * `url` is where the edge reaches its Open Inference Protocol v2 endpoints.
 */
export const RunnerAnnouncement = z.object({
  name: z.string().min(1).max(200),
  url: z.url({ protocol: /^https?$/ }),
  models: z.array(z.string().min(1)),
  capabilities: z.array(RunnerCapability).min(1),
  inflight: z.number().int().nonnegative().default(0),
  ready: z.boolean().default(true),
  draining: z.boolean().default(false),
})
export type RunnerAnnouncement = z.input<typeof RunnerAnnouncement>

/** What a runner reports on each heartbeat; fields left out keep their last value. */
export const RunnerHeartbeat = z.object({
  inflight: z.number().int().nonnegative().optional(),
  ready: z.boolean().optional(),
  draining: z.boolean().optional(),
  models: z.array(z.string().min(1)).optional(),
})
export type RunnerHeartbeat = z.infer<typeof RunnerHeartbeat>

/** One runner serving a model, and where it runs it (from the runner's model metadata; `unknown` for a foreign OIP server). */
export const RunnerModelExecution = ModelExecution.extend({ runner: z.string() })
export type RunnerModelExecution = z.infer<typeof RunnerModelExecution>
