import { DEGRADATION_METHOD, degradedExtension, degradeEncoders, degradeImage, type EncoderRoute, nativePathServes } from '@genimage/imaging'
import {
  DEFAULT_DEGRADATION_PARAMETERS,
  type DegradationSteps,
  degradationSteps,
  type Interpolation,
  INTERPOLATIONS,
  parseDegradation,
  TABLE5_PAPER_COLUMNS,
  type Table5PaperColumn,
} from '@genimage/shared/genimage'
import { DatasetError } from './errors.ts'
import { defaultImageConcurrency } from './pool.ts'
import type { Progress } from './progress.ts'
import { seededFraction, transformTree, withExtension, type TransformTreeReport } from './transform-tree.ts'
import type { WalkOptions } from './walk.ts'

/** GenImage's Table 5 degradations as steps, by degradation id (`jpeg-65` → `{ jpeg: 65 }`), in the paper's order. */
export const TABLE5_VARIANTS: Readonly<Record<Table5PaperColumn, DegradationSteps>> = Object.fromEntries(
  TABLE5_PAPER_COLUMNS.map((id) => [id, degradationSteps(parseDegradation(id))]),
) as Record<Table5PaperColumn, DegradationSteps>

export interface DegradeOptions extends DegradationSteps, WalkOptions {
  /** Resampling of `downscale` (default: the platform's recorded default, bilinear, as experiments use). */
  interpolation?: Interpolation
  /** Degrade `nature` images too (default true); false copies them unchanged. */
  degradeReal?: boolean
  /** Seed for sampling; with `sample` below 1 it decides which images are kept. */
  seed?: number
  /** Fraction of images to write (default 1: all). */
  sample?: number
  /** Images in flight (default 4; 8 when the native PNG → JPEG path serves the run). */
  concurrency?: number
  progress?: Progress
  signal?: AbortSignal
}

function validate(options: DegradeOptions): void {
  const bad = (message: string) => new DatasetError('bad_option', message)
  if (options.downscale === undefined && options.blur === undefined && options.jpeg === undefined)
    throw bad('nothing to do: give at least one of --downscale, --blur, --jpeg')
  if (options.downscale !== undefined && !(Number.isInteger(options.downscale) && options.downscale >= 8))
    throw bad(`--downscale must be an integer ≥ 8, got ${options.downscale}`)
  if (options.blur !== undefined && !(options.blur >= 0.3 && options.blur <= 1000)) throw bad(`--blur sigma must be between 0.3 and 1000, got ${options.blur}`)
  if (options.jpeg !== undefined && !(Number.isInteger(options.jpeg) && options.jpeg >= 1 && options.jpeg <= 100))
    throw bad(`--jpeg quality must be an integer 1–100, got ${options.jpeg}`)
  if (options.sample !== undefined && !(options.sample > 0 && options.sample <= 1)) throw bad(`--sample must be in (0, 1], got ${options.sample}`)
  if (options.interpolation && !INTERPOLATIONS.includes(options.interpolation)) throw bad(`--interpolation must be one of ${INTERPOLATIONS.join(', ')}`)
}

/** Images in flight by default: the native path's work is short, so more files in flight keep both cores busy. */
const NATIVE_PATH_CONCURRENCY = 8

const stepsOf = (options: DegradeOptions): DegradationSteps => ({ downscale: options.downscale, blur: options.blur, jpeg: options.jpeg })

/** The parameters recorded in `degrade.json`. */
export function degradeParameters(options: DegradeOptions): Record<string, unknown> {
  return {
    downscale: options.downscale ?? null,
    blur: options.blur ?? null,
    jpeg: options.jpeg ?? null,
    ...DEGRADATION_METHOD,
    interpolation: options.interpolation ?? DEFAULT_DEGRADATION_PARAMETERS.interpolation,
    degradeReal: options.degradeReal ?? DEFAULT_DEGRADATION_PARAMETERS.degradeReal,
    seed: options.seed ?? 0,
    sample: options.sample ?? 1,
    generators: options.generators ?? 'all',
    encoder: degradeEncoders(stepsOf(options)),
  }
}

/**
 * Writes degraded copies of `root` into `out` (same layout) for Table 5 style robustness tests: downscale,
 * Gaussian blur and JPEG, alone or combined, each image through `degradeImage` of `@genimage/imaging`, the
 * function the table5 evaluator uses, with the same defaults. `degrade.json` beside the output records every parameter.
 */
export async function degrade(root: string, out: string, options: DegradeOptions): Promise<TransformTreeReport> {
  validate(options)
  const steps = stepsOf(options)
  const interpolation = options.interpolation ?? DEFAULT_DEGRADATION_PARAMETERS.interpolation
  const degradeReal = options.degradeReal ?? DEFAULT_DEGRADATION_PARAMETERS.degradeReal
  const seed = options.seed ?? 0
  const sample = options.sample ?? 1
  const encoders = { native: 0, sharp: 0, nativeDeclined: {} as Record<string, number> }
  const onRoute = (route: EncoderRoute) => {
    encoders[route.encoder] += 1
    if (route.encoder === 'sharp' && route.nativeDeclined)
      encoders.nativeDeclined[route.nativeDeclined] = (encoders.nativeDeclined[route.nativeDeclined] ?? 0) + 1
  }
  const extension = degradedExtension(steps)
  return transformTree(root, out, {
    ...options,
    concurrency: options.concurrency ?? (nativePathServes(steps) ? NATIVE_PATH_CONCURRENCY : defaultImageConcurrency()),
    sidecarName: 'degrade.json',
    parameters: degradeParameters(options),
    progressLabel: 'degrade',
    summary: () => ({ encodersThisRun: encoders }),
    plan: (image) => {
      if (sample < 1 && seededFraction(seed, image.relPath) >= sample) return { skip: 'not in the seeded sample' }
      if (image.label === 'nature' && !degradeReal) return { outName: image.name, transform: async (bytes) => bytes }
      return { outName: withExtension(image.name, extension), transform: (bytes) => degradeImage(bytes, steps, { interpolation, onRoute }) }
    },
  })
}
