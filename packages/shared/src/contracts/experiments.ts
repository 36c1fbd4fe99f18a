import { z } from 'zod'
import { DEFAULT_DEGRADATION_PARAMETERS } from '../genimage/degradation-parameters.ts'
import { INTERPOLATIONS } from '../genimage/resampling.ts'

/** GenImage's evaluation protocols, plus `custom` (any train sets × test sets × degradations). */
export const ExperimentProtocol = z.enum(['table3', 'table4', 'table5', 'custom'])
export type ExperimentProtocol = z.infer<typeof ExperimentProtocol>

/**
 * A degradation applied to test images, written as an id: `none`, `downscale-<pixels>`, `jpeg-<quality>`,
 * `blur-<sigma>`. Table 5 uses downscale-112, downscale-64, jpeg-65, jpeg-30, blur-3 and blur-5.
 */
export const DegradationId = z.string().regex(/^(none|downscale-[1-9]\d{0,3}|jpeg-(100|[1-9]\d?)|blur-(\d{1,2})(\.\d{1,2})?)$/, {
  message: 'expected none, downscale-<pixels>, jpeg-<quality 1-100> or blur-<sigma>',
})
export type DegradationId = z.infer<typeof DegradationId>

/** Resampling used by `downscale-*`; GenImage does not state one, so it is an explicit, recorded choice. */
export const DownscaleInterpolation = z.enum(INTERPOLATIONS)
export type DownscaleInterpolation = z.infer<typeof DownscaleInterpolation>

/** Whether text holds a C0 control character (NUL, newline, …) or DEL. */
const hasControlCharacter = (text: string) => [...text].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)

/**
 * A generator folder name: one path segment, never `.` or `..`, without slashes, NUL or other control characters.
 * The runner joins it to `dataRoot`, so anything else could name a folder outside the root.
 */
export const GeneratorName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^/\\]+$/, { message: 'a generator folder name, without slashes' })
  .refine((name) => !hasControlCharacter(name), { message: 'a generator folder name, without control characters' })
  .refine((name) => name !== '.' && name !== '..', { message: 'a generator folder name, not . or ..' })

/** An absolute, normalised path as the runners see it: no `.`/`..` segments, no control characters. */
export const DataRootPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((path) => !hasControlCharacter(path), { message: 'a path without control characters' })
  .refine((path) => path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path), { message: 'an absolute path, as the runners see it' })
  .refine((path) => !path.split(/[\\/]/).some((segment) => segment === '.' || segment === '..'), { message: 'a path without . or .. segments' })

/** Refuses lists that name the same thing twice: a duplicate would only repeat a run (or a test cell) for nothing. */
const unique =
  <T>(what: string) =>
  (list: readonly T[], context: z.core.$RefinementCtx<readonly T[]>) => {
    const seen = new Set<T>()
    list.forEach((item, i) => {
      if (seen.has(item)) context.addIssue({ code: 'custom', message: `duplicate ${what} ${JSON.stringify(item)}`, path: [i] })
      seen.add(item)
    })
  }

/**
 * What a client submits to `POST /v1/experiments`. Generator names are folder names under `dataRoot`
 * (GenImage's eight, GenImage-mini's, or any other); `generators` lists what the root holds so the API can
 * expand the protocol without reading the filesystem.
 */
export const ExperimentSpec = z
  .object({
    protocol: ExperimentProtocol,
    name: z.string().min(1).max(200).optional(),
    /** Zoo model names, e.g. `npr-tiny`. */
    models: z.array(z.string().min(1).max(100)).min(1).max(20).superRefine(unique('model')),
    /** Dataset root as the runners see it: `<root>/<Generator>/{train,val}/{ai,nature}`. */
    dataRoot: DataRootPath,
    /** Generator folders under the root, in the order tables list them. */
    generators: z.array(GeneratorName).min(1).max(64),
    /** table3/table5: the generator trained on (default `SD V1.4` when present); custom: required. */
    trainOn: z.array(GeneratorName).min(1).max(64).superRefine(unique('generator')).optional(),
    /** custom: test subsets (default: all generators). */
    testOn: z.array(GeneratorName).min(1).max(64).superRefine(unique('generator')).optional(),
    /** custom: degradations of the test images (default: none). */
    degradations: z.array(DegradationId).min(1).max(32).optional(),
    /** Whether degradations also apply to real (`nature`) images; the paper does not say. */
    degradeReal: z.boolean().default(DEFAULT_DEGRADATION_PARAMETERS.degradeReal),
    interpolation: DownscaleInterpolation.default(DEFAULT_DEGRADATION_PARAMETERS.interpolation),
    epochs: z.number().int().min(1).max(1000).default(3),
    batchSize: z.number().int().min(1).max(1024).default(16),
    seeds: z
      .array(
        z
          .number()
          .int()
          .min(0)
          .max(2 ** 31 - 1),
      )
      .min(1)
      .max(10)
      .superRefine(unique('seed'))
      .default([0]),
    /** JPEG-align training images ("Fake or JPEG?") at this quality; absent = no debias. */
    debiasJpegQuality: z.number().int().min(1).max(100).optional(),
    /** Cap of training images per generator and class (CI-sized runs). */
    limitPerClass: z.number().int().min(1).optional(),
    /** Cap of test images per generator and class. */
    testLimitPerClass: z.number().int().min(1).optional(),
    checkpointEvery: z.number().int().min(1).max(100_000).default(20),
    maxAttempts: z.number().int().min(1).max(20).default(3),
  })
  .strict()
export type ExperimentSpec = z.infer<typeof ExperimentSpec>
export type ExperimentSpecInput = z.input<typeof ExperimentSpec>

export const ExperimentState = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled'])
export type ExperimentState = z.infer<typeof ExperimentState>

export const RunState = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled'])
export type RunState = z.infer<typeof RunState>

/** Where a run is: updated on each heartbeat. */
export const RunProgress = z.object({
  phase: z.enum(['queued', 'training', 'exporting', 'evaluating', 'done']),
  step: z.number().int().nonnegative(),
  totalSteps: z.number().int().nonnegative(),
  epoch: z.number().int().nonnegative(),
  epochs: z.number().int().nonnegative(),
  loss: z.number().nullable(),
  imagesPerSecond: z.number().nullable(),
  etaSeconds: z.number().nullable(),
  resumedFromStep: z.number().int().nonnegative(),
  backend: z.string().nullable(),
  /** Test cells (test set × degradation) scored so far, while evaluating. */
  cellsDone: z.number().int().nonnegative().default(0),
  cellsTotal: z.number().int().nonnegative().default(0),
})
export type RunProgress = z.infer<typeof RunProgress>

/** One finished training epoch (for training curves). */
export const RunEpoch = z.object({ epoch: z.number().int().positive(), trainLoss: z.number(), valAccuracy: z.number() })
export type RunEpoch = z.infer<typeof RunEpoch>

/** Scores of one run on one test subset under one degradation. Accuracies in [0, 1]. */
export const RunMetric = z.object({
  testSet: z.string(),
  degradation: DegradationId,
  accuracy: z.number(),
  /** null when the set has no image of that class (or the metric is undefined for it). */
  realAccuracy: z.number().nullable(),
  fakeAccuracy: z.number().nullable(),
  averagePrecision: z.number().nullable(),
  rocAuc: z.number().nullable(),
  count: z.number().int(),
  realCount: z.number().int(),
  fakeCount: z.number().int(),
  /** 95% bootstrap interval for accuracy. */
  accuracyCi: z.tuple([z.number(), z.number()]).nullable(),
})
export type RunMetric = z.infer<typeof RunMetric>

/** One run: a model trained on a set of generators with one seed, then tested. */
export const ExperimentRun = z.object({
  id: z.string(),
  index: z.number().int().nonnegative(),
  model: z.string(),
  trainOn: z.array(z.string()),
  testOn: z.array(z.string()),
  degradations: z.array(DegradationId),
  seed: z.number().int(),
  state: RunState,
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  failureReason: z.string().nullable(),
  worker: z.string().nullable(),
  /** Folder with the run's checkpoints and exported model (`model/`: model.onnx + card.json), once claimed. */
  artifactDir: z.string().nullable(),
  progress: RunProgress,
  history: z.array(RunEpoch),
  metrics: z.array(RunMetric),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
})
export type ExperimentRun = z.infer<typeof ExperimentRun>

/** Counts of runs per state. */
export const RunCounts = z.object({
  queued: z.number().int(),
  running: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
})
export type RunCounts = z.infer<typeof RunCounts>

/** An experiment as listed: no per-run detail. */
export const ExperimentSummary = z.object({
  id: z.string(),
  name: z.string().nullable(),
  protocol: ExperimentProtocol,
  state: ExperimentState,
  models: z.array(z.string()),
  dataRoot: z.string(),
  runs: RunCounts,
  createdAt: z.string(),
  updatedAt: z.string(),
})
export type ExperimentSummary = z.infer<typeof ExperimentSummary>

/** `GET /v1/experiments/{id}`: the spec, every run with its state, progress, history and metrics. */
export const ExperimentDetail = ExperimentSummary.extend({ spec: ExperimentSpec, runDetails: z.array(ExperimentRun) })
export type ExperimentDetail = z.infer<typeof ExperimentDetail>

/** `GET /v1/experiments`. */
export const ExperimentListResponse = z.object({ experiments: z.array(ExperimentSummary) })
export type ExperimentListResponse = z.infer<typeof ExperimentListResponse>

/**
 * `POST /v1/experiments` answers 201 with the experiment as created: its summary, the spec and how many runs it
 * expanded into, never every run (`GET /v1/experiments/{id}` has them).
 */
export const CreateExperimentResponse = ExperimentSummary.extend({ spec: ExperimentSpec, totalRuns: z.number().int().nonnegative() })
export type CreateExperimentResponse = z.infer<typeof CreateExperimentResponse>

/** `POST /v1/experiments/{id}/cancel`. */
export const CancelExperimentResponse = z.object({ id: z.string(), state: ExperimentState, cancelledRuns: z.number().int() })
export type CancelExperimentResponse = z.infer<typeof CancelExperimentResponse>

/** One SSE message of `GET /v1/experiments/{id}/events` (`event: progress`, data = this JSON). */
export const ExperimentProgressEvent = z.object({
  id: z.string(),
  state: ExperimentState,
  runs: z.array(
    z.object({
      id: z.string(),
      index: z.number().int(),
      model: z.string(),
      trainOn: z.array(z.string()),
      seed: z.number().int(),
      state: RunState,
      attempts: z.number().int(),
      failureReason: z.string().nullable(),
      progress: RunProgress,
      metrics: z.number().int(),
    }),
  ),
})
export type ExperimentProgressEvent = z.infer<typeof ExperimentProgressEvent>

/**
 * Whether `path` is one of `roots` or lies below one (all absolute and normalised, as `DataRootPath` checks): the
 * `DATA_ROOTS` allow-list, applied by the edge at submission and by runners before they read a byte.
 * @example isInsideDataRoots('/data/genimage/SD', ['/data']) // true; '/database' is not inside '/data'
 */
export function isInsideDataRoots(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => {
    const base = root.replace(/[\\/]+$/, '')
    return base === '' || path === base || path.startsWith(`${base}/`) || path.startsWith(`${base}\\`)
  })
}
