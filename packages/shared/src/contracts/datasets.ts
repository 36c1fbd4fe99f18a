import { z } from 'zod'
import { DataRootPath, GeneratorName } from './experiments.ts'

/** Images of one split of one generator folder, by class. */
export const DatasetSplitCounts = z.object({ ai: z.number().int().nonnegative(), nature: z.number().int().nonnegative() })
export type DatasetSplitCounts = z.infer<typeof DatasetSplitCounts>

/** One generator folder of a dataset (`<root>/<name>/{train,val}/{ai,nature}`) and the images found in it. */
export const DatasetGenerator = z.object({
  name: GeneratorName,
  train: DatasetSplitCounts,
  val: DatasetSplitCounts,
})
export type DatasetGenerator = z.infer<typeof DatasetGenerator>

/**
 * A GenImage-layout dataset the deployment's runners can read, as `GET /v1/datasets` lists it. `state` is `building`
 * while `genimage start` (or `genimage dataset mini`) is still writing it: experiments on it must wait until `ready`.
 */
export const DatasetSummary = z.object({
  /** The folder's name, e.g. `genimage-mini-tiny`. */
  name: z.string().min(1),
  /** The path to give as an experiment's `dataRoot`, as the runners see it. */
  dataRoot: DataRootPath,
  state: z.enum(['ready', 'building']),
  /** `genimage-mini`: built by `genimage dataset mini` (tiny generators on a few photos, an analogue of GenImage, not GenImage). */
  kind: z.enum(['genimage-mini', 'genimage-layout']),
  /** Generator folders, sorted by name (the order experiments list them in unless told otherwise). */
  generators: z.array(DatasetGenerator),
  /** Images over every generator, split and class. */
  images: z.number().int().nonnegative(),
  /** While `building`: what the build is doing and how far it is (`done` of `total` in this phase). */
  build: z
    .object({
      phase: z.string(),
      done: z.number().int().nonnegative(),
      total: z.number().int().nonnegative(),
      updatedAt: z.string(),
    })
    .optional(),
  /** What a reader should know before comparing numbers from this dataset with the paper's. */
  note: z.string().optional(),
})
export type DatasetSummary = z.infer<typeof DatasetSummary>

/** `GET /v1/datasets`: the datasets under the deployment's dataset folders (DATASET_DIRS), by name. */
export const DatasetListResponse = z.object({ datasets: z.array(DatasetSummary) })
export type DatasetListResponse = z.infer<typeof DatasetListResponse>

/**
 * The file a dataset build in progress keeps at its root (a dot file, so layout readers skip it), removed once the
 * build ends: what `GET /v1/datasets` reports as `state: building` and its `build` progress.
 */
export const DATASET_BUILD_MARKER = '.genimage-building.json'

/** What {@link DATASET_BUILD_MARKER} holds. */
export const DatasetBuildMarker = z.object({
  phase: z.string(),
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  updatedAt: z.string(),
})
export type DatasetBuildMarker = z.infer<typeof DatasetBuildMarker>
