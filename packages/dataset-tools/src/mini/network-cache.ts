import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { TOOL_FOLDER } from '../state.ts'
import type { DecodedPhotoSize } from './crops.ts'
import type { Random } from './random.ts'
import type { Tf } from './tf-runtime.ts'
import type { NetworkWeights } from './tiny-nets.ts'
import { weightsSha256 } from './tiny-nets.ts'

/**
 * Trained generator weights shipped with dataset-tools, one `<family>.json` per family (same format as the build
 * cache). They are used only when their key matches: same architecture, plan, seed, size and training photos
 * (bytes). Reproduce them with `npm run train-mini-generators -w @genimage/dataset-tools`.
 */
export const SHIPPED_GENERATORS_DIR = fileURLToPath(new URL('../../generators/', import.meta.url))

/** How a network is trained on crops of the training photos; every field is part of the cache key. */
export interface TrainingPlan {
  seed: number
  size: number
  steps: number
  batchSize: number
  learningRate: number
  patchSize: number
  patchCount: number
}

/** How one family's networks are trained: the shared plan and the family's architecture. */
export interface NetworkPlan extends TrainingPlan {
  arch: string
}

/** What `mini.json` records about one family's trained networks. */
export interface NetworkRecord {
  family: string
  arch: string
  key: string
  plan: NetworkPlan
  /** Keys of networks this one builds on (the latent diffusion denoiser on the autoencoder). */
  dependsOn: string[]
  /** `shipped`: weights from dataset-tools/generators; `cache`: from this build's folder; `trained`: trained now. */
  source: 'shipped' | 'cache' | 'trained'
  trainSeconds: number
  /** Loss of the last 10 training steps and averaged over each run of 10 steps (for GANs: the generator's loss). */
  finalLoss: number
  lossCurve: number[]
  /** Learned scalars per network used to generate (a GAN's discriminator is not kept). */
  params: Record<string, number>
  /** sha256 of the stored weights (JSON of every generating network). */
  weightsSha256: string
  weightsFile: string
}

/** The trained weights of a family, by network name, plus loss history. */
/** What a family trainer is given: train crops (8-bit RGB, `plan.patchSize`²), its plan, seeded streams, progress, cancellation. */
export interface FamilyTraining {
  tf: Tf
  patches: readonly Buffer[]
  plan: NetworkPlan
  randoms: { init: Random; batches: Random }
  onStep?: (step: number, total: number) => void
  signal?: AbortSignal
}

export interface TrainedNetworks {
  weights: Record<string, NetworkWeights>
  losses: number[]
}

interface CacheFile {
  key: string
  record: Omit<NetworkRecord, 'source' | 'weightsFile'>
  weights: Record<string, NetworkWeights>
}

/** Inputs of `prepareNetworks`. */
export interface PrepareNetworks {
  family: string
  out: string
  plan: NetworkPlan
  photos: { dir: string; train: readonly DecodedPhotoSize[] }
  dependsOn?: string[]
  /** Ignore shipped and cached weights and train again. */
  retrain?: boolean
  /** Folder of shipped weights; default `SHIPPED_GENERATORS_DIR`. */
  shippedDir?: string
  train: () => Promise<TrainedNetworks>
  /** When aborted during training, the weights are returned but not cached. */
  signal?: AbortSignal
}

/**
 * Returns a family's weights: shipped ones when their key matches, else this build's cached ones, else freshly
 * trained (and cached in `<out>/.genimage/mini/<family>.json`). The key hashes the plan, the dependencies and the
 * name and bytes of every training photo, so new photos or another seed retrain.
 */
export async function prepareNetworks(options: PrepareNetworks): Promise<{ weights: Record<string, NetworkWeights>; record: NetworkRecord }> {
  const dependsOn = options.dependsOn ?? []
  const key = await trainingPhotosKey({ plan: options.plan, dependsOn }, options.photos.dir, options.photos.train)
  const weightsFile = path.join(options.out, TOOL_FOLDER, 'mini', `${options.family}.json`)
  const shippedFile = path.join(options.shippedDir ?? SHIPPED_GENERATORS_DIR, `${options.family}.json`)
  if (!options.retrain) {
    for (const [source, file] of [
      ['shipped', shippedFile],
      ['cache', weightsFile],
    ] as const) {
      const cached = await readCacheFile(file)
      if (cached?.key === key) return { weights: cached.weights, record: { ...cached.record, source, weightsFile: file } }
    }
  }
  const started = performance.now()
  const trained = await options.train()
  const record: CacheFile['record'] = {
    family: options.family,
    arch: options.plan.arch,
    key,
    plan: options.plan,
    dependsOn,
    ...trainingSummary(trained.losses, started),
    params: Object.fromEntries(Object.entries(trained.weights).map(([name, w]) => [name, countParams(w)])),
    weightsSha256: familySha256(trained.weights),
  }
  if (options.signal?.aborted) return { weights: trained.weights, record: { ...record, source: 'trained', weightsFile: '' } }
  await writeCacheFile(weightsFile, { key, record, weights: trained.weights })
  return { weights: trained.weights, record: { ...record, source: 'trained', weightsFile } }
}

/** Copies a family's cache file from a build folder into the shipped folder (for the reproduce command). */
export async function shipNetworks(out: string, family: string, shippedDir = SHIPPED_GENERATORS_DIR): Promise<string> {
  const file = await readCacheFile(path.join(out, TOOL_FOLDER, 'mini', `${family}.json`))
  if (!file) throw new Error(`no trained ${family} weights in ${out}`)
  const target = path.join(shippedDir, `${family}.json`)
  await writeCacheFile(target, file)
  return target
}

/** sha256 of a family's generating weights, as `mini.json` records it. */
export function familySha256(weights: Record<string, NetworkWeights>): string {
  const hash = createHash('sha256')
  for (const name of Object.keys(weights).sort()) hash.update(name).update(weightsSha256(weights[name]!))
  return hash.digest('hex')
}

function countParams(weights: NetworkWeights): number {
  return weights.params.reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0)
}

async function readCacheFile(file: string): Promise<CacheFile | undefined> {
  return readFile(file, 'utf8')
    .then((text) => JSON.parse(text) as CacheFile)
    .catch(() => undefined)
}

async function writeCacheFile(file: string, content: CacheFile): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true })
  await writeFile(`${file}.tmp`, JSON.stringify(content))
  await rename(`${file}.tmp`, file)
}

/**
 * The cache key of a network trained on the training photos: a hash of what defines the training (`definition`,
 * e.g. architecture and plan) and of every training photo's name and bytes, so a changed photo retrains.
 */
export async function trainingPhotosKey(definition: unknown, dir: string, train: readonly DecodedPhotoSize[]): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify(definition))
  for (const photo of train) hash.update(photo.name).update(await readFile(path.join(dir, photo.name)))
  return hash.digest('hex').slice(0, 32)
}

/** What a training run records about itself: wall time since `started` and its loss (last ten, per ten steps). */
export function trainingSummary(losses: readonly number[], started: number): { trainSeconds: number; finalLoss: number; lossCurve: number[] } {
  return {
    trainSeconds: round((performance.now() - started) / 1000),
    finalLoss: round(mean(losses.slice(-10)), 6),
    lossCurve: chunks(losses, 10).map((chunk) => round(mean(chunk), 6)),
  }
}

const mean = (values: readonly number[]): number => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length)
const round = (value: number, digits = 2): number => Number(value.toFixed(digits))
const chunks = <T>(values: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(values.length / size) }, (_, i) => values.slice(i * size, (i + 1) * size))
