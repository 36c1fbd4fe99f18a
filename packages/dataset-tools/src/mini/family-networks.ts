import { createHash } from 'node:crypto'
import type { ConvAutoencoder } from './autoencoder.ts'
import { trainingPatches } from './autoencoder-cache.ts'
import type { DecodedPhotoSize } from './crops.ts'
import { MINI_GENERATOR_FAMILY, type MiniFamily, paperGeneratorsOf } from './families.ts'
import { createGanGenerator, defaultGanPlan, GAN_ARCH, trainGan } from './gan.ts'
import { createAutoencoderGenerator, createBicubicGenerator, createRdnGenerator, type MiniGenerator, type MiniGeneratorName } from './generators.ts'
import { createLatentDiffusionGenerator, defaultLatentPlan, LATENT_DENOISER_ARCH, trainLatentDenoiser } from './latent-diffusion.ts'
import { type NetworkPlan, type NetworkRecord, prepareNetworks, type TrainedNetworks } from './network-cache.ts'
import type { PhotoCache } from './photos.ts'
import { createPixelDiffusionGenerator, defaultPixelPlan, PIXEL_UNET_ARCH, trainPixelDiffusion, UPSAMPLER_ARCH } from './pixel-diffusion.ts'
import { streamFor } from './random.ts'
import type { Tf } from './tf-runtime.ts'
import type { NetworkWeights } from './tiny-nets.ts'

/** Families whose networks the builder trains itself (besides the autoencoder). */
export const TRAINED_FAMILIES = ['latent-diffusion', 'pixel-diffusion', 'gan'] as const
export type TrainedFamily = (typeof TRAINED_FAMILIES)[number]

/** Default training steps per family, the ones the shipped weights were trained with. */
export const DEFAULT_FAMILY_STEPS: Readonly<Record<TrainedFamily, number>> = { 'latent-diffusion': 900, 'pixel-diffusion': 900, gan: 500 }

/** What `mini.json` records per generator. */
export interface GeneratorRecord {
  name: string
  kind: 'model' | 'control'
  description: string
  family: MiniFamily
  /** GenImage generators of the paper family this one stands in for; empty when none. */
  paperAnalogueOf: string[]
  /** Architecture(s) that compute the pixels. */
  network: string
  /** Learned scalars of every network the generator runs (0 for the control). */
  params: number
  /** Sampler steps over the schedule for diffusion, 1 for single-pass networks, 0 for the control. */
  steps: number
  /** Diffusion only: sampler, strength and the denoiser evaluations per image. */
  sampling?: { sampler: string; strength: number; evaluations: number }
  /** sha256 of the weights used (null for the control). */
  weightsSha256: string | null
}

export interface FamilyInputs {
  tf: Tf
  out: string
  seed: number
  size: number
  photos: { dir: string; cache: PhotoCache; train: readonly DecodedPhotoSize[] }
  autoencoder?: { model: ConvAutoencoder; key: string }
  retrain: boolean
  steps: Partial<Record<TrainedFamily, number>>
  shippedDir?: string
  onStep?: (family: TrainedFamily, done: number, total: number) => void
  signal?: AbortSignal
}

/** Loads (shipped or cached) or trains the networks of `family`; training sees train photos only. */
export async function prepareFamily(family: TrainedFamily, inputs: FamilyInputs): Promise<{ weights: Record<string, NetworkWeights>; record: NetworkRecord }> {
  const { tf, seed, size } = inputs
  const steps = inputs.steps[family] ?? DEFAULT_FAMILY_STEPS[family]
  const plan: NetworkPlan =
    family === 'latent-diffusion'
      ? defaultLatentPlan(seed, size, steps)
      : family === 'pixel-diffusion'
        ? defaultPixelPlan(seed, size, steps)
        : defaultGanPlan(seed, size, steps)
  const randoms = { init: streamFor(seed, family, 'init'), batches: streamFor(seed, family, 'batches') }
  const onStep = (done: number, total: number) => inputs.onStep?.(family, done, total)
  const train = async (): Promise<TrainedNetworks> => {
    const patches = await trainingPatches(inputs.photos.cache, inputs.photos.train, { ...plan, stream: family, count: plan.patchCount })
    const run = { tf, patches, plan, randoms, onStep, signal: inputs.signal }
    if (family === 'latent-diffusion') return trainLatentDenoiser(run, inputs.autoencoder!.model)
    if (family === 'pixel-diffusion') return trainPixelDiffusion(run)
    return trainGan(run)
  }
  if (family === 'latent-diffusion' && !inputs.autoencoder) throw new Error('latent diffusion needs the autoencoder')
  return prepareNetworks({
    family,
    out: inputs.out,
    plan,
    photos: inputs.photos,
    dependsOn: family === 'latent-diffusion' ? [inputs.autoencoder!.key] : [],
    retrain: inputs.retrain,
    shippedDir: inputs.shippedDir,
    train,
    signal: inputs.signal,
  })
}

/** Everything a generator may need: the autoencoder and each prepared family's weights and record. */
export interface GeneratorInputs {
  tf: Tf
  autoencoder?: { model: ConvAutoencoder; params: number; weightsSha256: string }
  families: Partial<Record<TrainedFamily, { weights: Record<string, NetworkWeights>; record: NetworkRecord }>>
}

/** Creates generator `name` and the record `mini.json` keeps about it. */
export async function createMiniGenerator(name: MiniGeneratorName, inputs: GeneratorInputs): Promise<{ generator: MiniGenerator; record: GeneratorRecord }> {
  const family = MINI_GENERATOR_FAMILY[name]
  const base = (generator: MiniGenerator) => ({
    name,
    kind: generator.kind,
    description: generator.description,
    family,
    paperAnalogueOf: paperGeneratorsOf(family),
  })
  const { tf } = inputs
  if (name === 'RDN-slim' || name === 'RDN-medium') {
    const generator = await createRdnGenerator(name)
    return {
      generator,
      record: { ...base(generator), network: 'RDN x2 (UpscalerJS)', params: generator.params, steps: 1, weightsSha256: generator.weightsSha256 },
    }
  }
  if (name === 'Bicubic') {
    const generator = createBicubicGenerator()
    return { generator, record: { ...base(generator), network: 'none (bicubic interpolation)', params: 0, steps: 0, weightsSha256: null } }
  }
  const ae = inputs.autoencoder
  if (name === 'AE-decoder') {
    const generator = createAutoencoderGenerator(tf, ae!.model)
    return { generator, record: { ...base(generator), network: 'conv-ae-v1', params: ae!.params, steps: 1, weightsSha256: ae!.weightsSha256 } }
  }
  if (name === 'LDM-ddpm-50' || name === 'LDM-ddim-20') {
    const prepared = inputs.families['latent-diffusion']!
    const generator = createLatentDiffusionGenerator(tf, name, ae!.model, prepared.weights.denoiser!)
    const { sampler, steps, strength } = generator.sampler
    return {
      generator,
      record: {
        ...base(generator),
        network: `${LATENT_DENOISER_ARCH} + conv-ae-v1 decoder`,
        params: prepared.record.params.denoiser! + ae!.params,
        steps,
        sampling: { sampler, strength, evaluations: generator.evaluations },
        weightsSha256: combinedSha256([prepared.record.weightsSha256, ae!.weightsSha256]),
      },
    }
  }
  if (name === 'PixDM-ddpm-50') {
    const prepared = inputs.families['pixel-diffusion']!
    const generator = createPixelDiffusionGenerator(tf, prepared.weights)
    const { sampler, steps, strength } = generator.sampler
    const params = Object.values(prepared.record.params).reduce((a, b) => a + b, 0)
    return {
      generator,
      record: {
        ...base(generator),
        network: `${PIXEL_UNET_ARCH} + ${UPSAMPLER_ARCH}`,
        params,
        steps,
        sampling: { sampler, strength, evaluations: generator.evaluations },
        weightsSha256: prepared.record.weightsSha256,
      },
    }
  }
  const prepared = inputs.families.gan!
  const generator = createGanGenerator(tf, prepared.weights.generator!)
  return {
    generator,
    record: {
      ...base(generator),
      network: `${GAN_ARCH} generator`,
      params: prepared.record.params.generator!,
      steps: 1,
      weightsSha256: prepared.record.weightsSha256,
    },
  }
}

/** One hash for a generator built from several networks (the denoiser and the autoencoder it decodes with). */
function combinedSha256(parts: readonly string[]): string {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return hash.digest('hex')
}
