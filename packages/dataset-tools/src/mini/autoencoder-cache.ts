import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import { AUTOENCODER_ARCH, ConvAutoencoder, trainAutoencoder, type AutoencoderWeights } from './autoencoder.ts'
import { cropPixels, sampleRegion, type DecodedPhotoSize } from './crops.ts'
import { TOOL_FOLDER } from '../state.ts'
import { SHIPPED_GENERATORS_DIR, type TrainingPlan, trainingPhotosKey, trainingSummary } from './network-cache.ts'
import type { PhotoCache } from './photos.ts'
import { streamFor } from './random.ts'
import type { Tf } from './tf-runtime.ts'

/** How the autoencoder is trained; part of the cache key (its architecture is fixed: `AUTOENCODER_ARCH`). */
export type AutoencoderPlan = TrainingPlan

/** Default plan: about 1.5–2 minutes of training on one wasm thread for 128 px crops. */
export function defaultAutoencoderPlan(seed: number, size: number, steps = 360): AutoencoderPlan {
  return { seed, size, steps, batchSize: 16, learningRate: 2e-3, patchSize: Math.min(64, size), patchCount: Math.min(256, steps * 16) }
}

/** What `mini.json` records about the autoencoder. */
export interface AutoencoderRecord {
  arch: string
  key: string
  plan: AutoencoderPlan
  cached: boolean
  trainSeconds: number
  /** Mean squared error (pixels in [0, 1]) of the last 10 training steps. */
  finalLoss: number
  /** Loss averaged over each run of 10 steps, in order. */
  lossCurve: number[]
  /** Where the weights were read from or written to (the shipped file when it matched). */
  weightsFile: string
}

interface CacheFile {
  key: string
  record: Omit<AutoencoderRecord, 'cached' | 'weightsFile'>
  weights: AutoencoderWeights
}

/**
 * Returns the autoencoder for this build: loaded from `<out>/.genimage/mini/autoencoder.json` when a previous run trained it
 * with the same plan and training photos, trained (and cached) otherwise. Training sees crops of train photos only.
 */
export async function prepareAutoencoder(
  tf: Tf,
  out: string,
  plan: AutoencoderPlan,
  photos: { dir: string; cache: PhotoCache; train: readonly DecodedPhotoSize[] },
  onStep?: (step: number, total: number) => void,
  signal?: AbortSignal,
  reuse: { retrain?: boolean; shippedDir?: string } = {},
): Promise<{ model: ConvAutoencoder; record: AutoencoderRecord }> {
  const key = await trainingPhotosKey({ arch: AUTOENCODER_ARCH, plan }, photos.dir, photos.train)
  const weightsFile = path.join(out, TOOL_FOLDER, 'mini', 'autoencoder.json')
  const shippedFile = path.join(reuse.shippedDir ?? SHIPPED_GENERATORS_DIR, 'autoencoder.json')
  for (const file of reuse.retrain ? [] : [shippedFile, weightsFile]) {
    const cached = await readFile(file, 'utf8')
      .then((text) => JSON.parse(text) as CacheFile)
      .catch(() => undefined)
    if (cached?.key === key) {
      onStep?.(plan.steps, plan.steps)
      return { model: ConvAutoencoder.fromWeights(tf, cached.weights), record: { ...cached.record, cached: true, weightsFile: file } }
    }
  }

  const patches = await trainingPatches(photos.cache, photos.train, { ...plan, stream: 'autoencoder', count: plan.patchCount })
  const model = ConvAutoencoder.create(tf, streamFor(plan.seed, 'autoencoder', 'init'))
  const started = performance.now()
  const losses = await trainAutoencoder(tf, model, {
    patches,
    patchSize: plan.patchSize,
    steps: plan.steps,
    batchSize: plan.batchSize,
    learningRate: plan.learningRate,
    random: streamFor(plan.seed, 'autoencoder', 'batches'),
    onStep: (step) => onStep?.(step, plan.steps),
    signal,
  })
  const record = {
    arch: AUTOENCODER_ARCH,
    key,
    plan,
    ...trainingSummary(losses, started),
  }
  if (signal?.aborted) return { model, record: { ...record, cached: false, weightsFile: '' } }
  const file: CacheFile = { key, record, weights: await model.toWeights() }
  await mkdir(path.dirname(weightsFile), { recursive: true })
  await writeFile(`${weightsFile}.tmp`, JSON.stringify(file))
  await rename(`${weightsFile}.tmp`, weightsFile)
  return { model, record: { ...record, cached: false, weightsFile } }
}

/** Which training patches to cut: `count` random `patchSize`² windows of random `size`² crops of train photos. */
export interface PatchSpec {
  seed: number
  /** Names the random stream, so each network draws its own patches. */
  stream: string
  size: number
  patchSize: number
  count: number
}

/** Seeded training patches (8-bit RGB) cut from crops of the train photos only. */
export async function trainingPatches(cache: PhotoCache, train: readonly DecodedPhotoSize[], spec: PatchSpec): Promise<Buffer[]> {
  const patches: Buffer[] = []
  for (let i = 0; i < spec.count; i++) {
    const random = streamFor(spec.seed, spec.stream, 'patch', i)
    const crop = await cropPixels(cache, sampleRegion(train, spec.size, random), spec.size)
    const left = random.int(0, spec.size - spec.patchSize)
    const top = random.int(0, spec.size - spec.patchSize)
    patches.push(
      await sharp(crop, { raw: { width: spec.size, height: spec.size, channels: 3 } })
        .extract({ left, top, width: spec.patchSize, height: spec.patchSize })
        .raw()
        .toBuffer(),
    )
  }
  return patches
}
