import type * as tfjs from '@tensorflow/tfjs'
import { type ConvAutoencoder, LATENT_CHANNELS } from './autoencoder.ts'
import { type EpsilonModel, epsilonLoss, type SamplerPlan, sample, samplerTimesteps } from './diffusion-schedule.ts'
import type { MiniGenerator } from './generators.ts'
import type { FamilyTraining, NetworkPlan, TrainedNetworks } from './network-cache.ts'
import { fromRgbBuffers, toRgbBuffers, type Tf } from './tf-runtime.ts'
import { convSpecs, denseSpecs, type NetworkWeights, ParamSet, type ParamSpec, timestepEmbedding } from './tiny-nets.ts'

/**
 * Latent diffusion, GenImage-mini's Stable Diffusion analogue: a small ε-predicting denoiser (DDPM) trained on the
 * autoencoder's latents of train-photo patches; images are `decode(sample(latent))` with the autoencoder's decoder,
 * as SD V1.4, V1.5 and Wukong all decode with one VAE. The two generators share denoiser and decoder and differ in
 * sampler and steps.
 */
export const LATENT_DENOISER_ARCH = 'ldm-eps-v1'
const WIDTH = 32
const EMBED = 32

const DENOISER_SPECS: readonly ParamSpec[] = [
  ...denseSpecs('temb', EMBED, WIDTH),
  ...convSpecs('c1', 3, LATENT_CHANNELS, WIDTH),
  ...convSpecs('c2', 3, WIDTH, WIDTH),
  ...convSpecs('c3', 3, WIDTH, WIDTH),
  ...convSpecs('c4', 3, 2 * WIDTH, WIDTH),
  ...convSpecs('out', 3, WIDTH, LATENT_CHANNELS, 0.1),
  // Not trained: 1 / std of the training latents, so the denoiser sees unit-variance data (SD's 0.18215).
  { name: 'latent_scale', shape: [1], init: 'zeros' },
]

/** The two latent-diffusion generators: name → sampler. Strength 0.3: start from the crop's latent noised to t = 300. */
export const LATENT_SAMPLERS = {
  'LDM-ddpm-50': { sampler: 'ddpm', steps: 50, strength: 0.3 },
  'LDM-ddim-20': { sampler: 'ddim', steps: 20, strength: 0.3 },
} as const satisfies Record<string, SamplerPlan>
export type LatentGeneratorName = keyof typeof LATENT_SAMPLERS

/** Default plan (the shipped weights): 900 steps took 406 s wall on a shared 2-core machine at load 10–16. */
export function defaultLatentPlan(seed: number, size: number, steps = 900): NetworkPlan {
  return {
    arch: LATENT_DENOISER_ARCH,
    seed,
    size,
    steps,
    batchSize: 16,
    learningRate: 1e-3,
    patchSize: Math.min(64, size),
    patchCount: Math.min(256, steps * 16),
  }
}

/** ε(z_t, t): conv stack with the timestep embedding added after the first convolution and a skip to the last. */
function denoiser(tf: Tf, net: ParamSet): EpsilonModel {
  return (x, timesteps) => {
    const embedding = tf.relu(net.dense(timestepEmbedding(tf, timesteps, EMBED, 1000), 'temb')).reshape([timesteps.length, 1, 1, WIDTH])
    const h1 = tf.relu(tf.add(net.conv(x, 'c1'), embedding)) as tfjs.Tensor4D
    const h2 = tf.relu(net.conv(h1, 'c2')) as tfjs.Tensor4D
    const h3 = tf.relu(net.conv(h2, 'c3')) as tfjs.Tensor4D
    const h4 = tf.relu(net.conv(tf.concat([h3, h1], 3), 'c4')) as tfjs.Tensor4D
    return net.conv(h4, 'out')
  }
}

/** Trains the denoiser on latents of `patches` (8-bit RGB, `plan.patchSize`²) encoded by `autoencoder`. */
export async function trainLatentDenoiser(
  { tf, patches, plan, randoms, onStep, signal }: FamilyTraining,
  autoencoder: ConvAutoencoder,
): Promise<TrainedNetworks> {
  const side = plan.patchSize
  const latents = tf.tidy(() => autoencoder.encode(fromRgbBuffers(patches, side, side).div(255) as tfjs.Tensor4D))
  const std = (await tf.tidy(() => tf.moments(latents).variance.sqrt()).data())[0]!
  const scaled = tf.tidy(() => latents.div(std) as tfjs.Tensor4D)
  latents.dispose()
  const net = ParamSet.create(tf, LATENT_DENOISER_ARCH, DENOISER_SPECS, randoms.init)
  net.get('latent_scale').assign(tf.tensor1d([1 / std]))
  const model = denoiser(tf, net)
  const trainable = net.variables().filter((v) => v !== net.get('latent_scale'))
  const optimizer = tf.train.adam(plan.learningRate)
  const losses: number[] = []
  const count = scaled.shape[0]
  for (let step = 0; step < plan.steps && !signal?.aborted; step++) {
    const indices = tf.tensor1d(
      Array.from({ length: plan.batchSize }, () => randoms.batches.int(0, count - 1)),
      'int32',
    )
    const loss = optimizer.minimize(() => epsilonLoss(tf, model, tf.gather(scaled, indices) as tfjs.Tensor4D, randoms.batches), true, trainable)
    losses.push((await loss!.data())[0]!)
    loss!.dispose()
    indices.dispose()
    onStep?.(step + 1, plan.steps)
  }
  optimizer.dispose()
  scaled.dispose()
  const weights = await net.toWeights()
  net.dispose()
  return { weights: { denoiser: weights }, losses }
}

/** One latent-diffusion generator: crop → encode → noise to the plan's start → sample → decode. */
export function createLatentDiffusionGenerator(
  tf: Tf,
  name: LatentGeneratorName,
  autoencoder: ConvAutoencoder,
  weights: NetworkWeights,
): MiniGenerator & { sampler: SamplerPlan; evaluations: number } {
  const net = ParamSet.fromWeights(tf, DENOISER_SPECS, weights)
  const scale = net.get('latent_scale').dataSync()[0]!
  const model = denoiser(tf, net)
  const plan = LATENT_SAMPLERS[name]
  return {
    name,
    kind: 'model',
    description: `latent diffusion: ${plan.sampler.toUpperCase()} ${plan.steps} steps (from the crop's latent noised to strength ${plan.strength}) with a ${LATENT_DENOISER_ARCH} denoiser, decoded by the AE-decoder's decoder`,
    sampler: plan,
    evaluations: samplerTimesteps(plan).length,
    async generate(crops, size, randoms) {
      const latent = tf.tidy(() => autoencoder.encode(fromRgbBuffers(crops, size, size).div(255) as tfjs.Tensor4D).mul(scale) as tfjs.Tensor4D)
      const sampled = sample(tf, model, latent, plan, randoms)
      latent.dispose()
      const output = tf.tidy(() => autoencoder.decode(sampled.div(scale) as tfjs.Tensor4D).mul(255) as tfjs.Tensor4D)
      sampled.dispose()
      const images = await toRgbBuffers(output)
      output.dispose()
      return images
    },
    dispose: () => net.dispose(),
  }
}
