import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import { AUTOENCODER_ARCH, ConvAutoencoder, trainAutoencoder, type AutoencoderWeights } from './autoencoder.ts'
import { cropPixels, sampleRegion, type DecodedPhotoSize } from './crops.ts'
import { TOOL_FOLDER } from '../state.ts'
import type { PhotoCache } from './photos.ts'
import { streamFor } from './random.ts'
import type { Tf } from './tf-runtime.ts'

/** How the autoencoder is trained; part of the cache key. */
export interface AutoencoderPlan {
  seed: number
  size: number
  steps: number
  batchSize: number
  learningRate: number
  patchSize: number
  patchCount: number
}

/** Default plan: about 1.5–2 minutes of training on one wasm thread for 128 px crops. */
export function defaultAutoencoderPlan(seed: number, size: number, steps = 360): AutoencoderPlan {
  return { seed, size, steps, batchSize: 16, learningRate: 2e-3, patchSize: Math.min(64, size), patchCount: 256 }
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
): Promise<{ model: ConvAutoencoder; record: AutoencoderRecord }> {
  const key = await cacheKey(plan, photos.dir, photos.train)
  const weightsFile = path.join(out, TOOL_FOLDER, 'mini', 'autoencoder.json')
  const cached = await readFile(weightsFile, 'utf8')
    .then((text) => JSON.parse(text) as CacheFile)
    .catch(() => undefined)
  if (cached?.key === key) {
    onStep?.(plan.steps, plan.steps)
    return { model: ConvAutoencoder.fromWeights(tf, cached.weights), record: { ...cached.record, cached: true, weightsFile } }
  }

  const patches = await trainingPatches(plan, photos.cache, photos.train)
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
    trainSeconds: round((performance.now() - started) / 1000),
    finalLoss: round(mean(losses.slice(-10)), 6),
    lossCurve: chunks(losses, 10).map((chunk) => round(mean(chunk), 6)),
  }
  if (signal?.aborted) return { model, record: { ...record, cached: false, weightsFile: '' } }
  const file: CacheFile = { key, record, weights: await model.toWeights() }
  await mkdir(path.dirname(weightsFile), { recursive: true })
  await writeFile(`${weightsFile}.tmp`, JSON.stringify(file))
  await rename(`${weightsFile}.tmp`, weightsFile)
  return { model, record: { ...record, cached: false, weightsFile } }
}

async function trainingPatches(plan: AutoencoderPlan, cache: PhotoCache, train: readonly DecodedPhotoSize[]): Promise<Buffer[]> {
  const patches: Buffer[] = []
  for (let i = 0; i < plan.patchCount; i++) {
    const random = streamFor(plan.seed, 'autoencoder', 'patch', i)
    const crop = await cropPixels(cache, sampleRegion(train, plan.size, random), plan.size)
    const left = random.int(0, plan.size - plan.patchSize)
    const top = random.int(0, plan.size - plan.patchSize)
    patches.push(
      await sharp(crop, { raw: { width: plan.size, height: plan.size, channels: 3 } })
        .extract({ left, top, width: plan.patchSize, height: plan.patchSize })
        .raw()
        .toBuffer(),
    )
  }
  return patches
}

async function cacheKey(plan: AutoencoderPlan, dir: string, train: readonly DecodedPhotoSize[]): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify({ arch: AUTOENCODER_ARCH, plan }))
  for (const photo of train) hash.update(photo.name).update(await readFile(path.join(dir, photo.name)))
  return hash.digest('hex').slice(0, 32)
}

const mean = (values: readonly number[]): number => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length)
const round = (value: number, digits = 2): number => Number(value.toFixed(digits))
const chunks = <T>(values: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(values.length / size) }, (_, i) => values.slice(i * size, (i + 1) * size))
