import type * as tfjs from '@tensorflow/tfjs'
import { depthToSpace } from './autoencoder.ts'
import { resizeBicubic } from './crops.ts'
import { type EpsilonModel, epsilonLoss, type SamplerPlan, sample, samplerTimesteps } from './diffusion-schedule.ts'
import type { MiniGenerator } from './generators.ts'
import type { FamilyTraining, NetworkPlan, TrainedNetworks } from './network-cache.ts'
import { fromRgbBuffers, fromRgbSigned, toRgbBuffers, type Tf } from './tf-runtime.ts'
import { convSpecs, denseSpecs, type NetworkWeights, ParamSet, type ParamSpec, randomBatch, timestepEmbedding } from './tiny-nets.ts'

/**
 * Pixel-space diffusion, GenImage-mini's ADM/GLIDE analogue: a small two-level UNet DDPM (ε-prediction) on RGB at
 * 1/4 of the mini size, then a learned ×4 up-sampler (convolutions + pixel-shuffle) to the mini size, as GLIDE
 * samples at 64 px and up-samples with a second network. Both train on the train photos only.
 */
export const PIXEL_UNET_ARCH = 'pixel-unet-eps-v1'
export const UPSAMPLER_ARCH = 'upsampler-x4-v1'
/** Generator folder name of the pixel-space diffusion family. */
export const PIXEL_DIFFUSION_NAME = 'PixDM-ddpm-50'
/** DDPM ancestral, 50 steps over the schedule, from the low-resolution crop noised to t = 300 (SDEdit). */
export const PIXEL_SAMPLER: SamplerPlan = { sampler: 'ddpm', steps: 50, strength: 0.3 }

const C1 = 16
const C2 = 32
const EMBED = 32
const UNET_SPECS: readonly ParamSpec[] = [
  ...denseSpecs('temb1', EMBED, C1),
  ...denseSpecs('temb2', EMBED, C2),
  ...convSpecs('in', 3, 3, C1),
  ...convSpecs('down', 3, C1, C2),
  ...convSpecs('mid', 3, C2, C2),
  ...convSpecs('up', 3, C2, 4 * C1),
  ...convSpecs('merge', 3, 2 * C1, C1),
  ...convSpecs('out', 3, C1, 3, 0.1),
]
const UPSAMPLER_SPECS: readonly ParamSpec[] = [
  ...convSpecs('u1', 3, 3, 32),
  ...convSpecs('u2', 3, 32, 48),
  ...convSpecs('u3', 3, 12, 48),
  ...convSpecs('u4', 3, 12, 3),
]

/** Default plan: UNet steps (the up-sampler trains `steps / 2`); 900 + 450 steps took 548 s wall on a shared 2-core machine at load 10–16. */
export function defaultPixelPlan(seed: number, size: number, steps = 900): NetworkPlan {
  return {
    arch: `${PIXEL_UNET_ARCH}+${UPSAMPLER_ARCH}`,
    seed,
    size,
    steps,
    batchSize: 8,
    learningRate: 1e-3,
    patchSize: size,
    patchCount: Math.min(256, steps * 8),
  }
}

function unet(tf: Tf, net: ParamSet): EpsilonModel {
  return (x, timesteps) => {
    const n = timesteps.length
    const embedding = timestepEmbedding(tf, timesteps, EMBED, 1000)
    const t1 = tf.relu(net.dense(embedding, 'temb1')).reshape([n, 1, 1, C1])
    const t2 = tf.relu(net.dense(embedding, 'temb2')).reshape([n, 1, 1, C2])
    const h1 = tf.relu(tf.add(net.conv(x, 'in'), t1)) as tfjs.Tensor4D
    const h2 = tf.relu(tf.add(net.conv(h1, 'down', 2), t2)) as tfjs.Tensor4D
    const h3 = tf.relu(net.conv(h2, 'mid')) as tfjs.Tensor4D
    const up = depthToSpace(tf, net.conv(h3, 'up'))
    const h4 = tf.relu(net.conv(tf.concat([up, h1], 3), 'merge')) as tfjs.Tensor4D
    return net.conv(h4, 'out')
  }
}

/** ×4 up-sampler on images in [-1, 1]: two convolutions, then two (convolution → pixel-shuffle) stages. */
function upsample(tf: Tf, net: ParamSet, x: tfjs.Tensor4D): tfjs.Tensor4D {
  const h1 = tf.relu(net.conv(x, 'u1')) as tfjs.Tensor4D
  const h2 = tf.relu(depthToSpace(tf, net.conv(h1, 'u2')))
  const h3 = tf.relu(depthToSpace(tf, net.conv(h2, 'u3')))
  return net.conv(h3, 'u4')
}

/**
 * Trains the UNet on train crops reduced ×4 (`size/4`² RGB) and the up-sampler with L1 loss on aligned windows of
 * (crop reduced ×4 → crop), 16² → 64². `patches` are whole 8-bit RGB crops, `plan.patchSize`² (= the mini size).
 */
export async function trainPixelDiffusion({ tf, patches, plan, randoms, onStep, signal }: FamilyTraining): Promise<TrainedNetworks> {
  const side = plan.patchSize
  const small = await Promise.all(patches.map((p) => resizeBicubic(p, side, side / 4)))
  const unetNet = ParamSet.create(tf, PIXEL_UNET_ARCH, UNET_SPECS, randoms.init)
  const upNet = ParamSet.create(tf, UPSAMPLER_ARCH, UPSAMPLER_SPECS, randoms.init)
  const model = unet(tf, unetNet)
  const upSteps = Math.ceil(plan.steps / 2)
  const total = plan.steps + upSteps
  const losses: number[] = []
  const unetOptimizer = tf.train.adam(plan.learningRate)
  for (let step = 0; step < plan.steps && !signal?.aborted; step++) {
    const batch = randomBatch(small, side / 4, plan.batchSize, randoms.batches)
    const loss = unetOptimizer.minimize(() => epsilonLoss(tf, model, batch, randoms.batches), true, unetNet.variables())
    losses.push((await loss!.data())[0]!)
    loss!.dispose()
    batch.dispose()
    onStep?.(step + 1, total)
  }
  unetOptimizer.dispose()
  const upOptimizer = tf.train.adam(plan.learningRate)
  for (let step = 0; step < upSteps && !signal?.aborted; step++) {
    const picks = Array.from({ length: plan.batchSize }, () => randoms.batches.int(0, patches.length - 1))
    const window = Math.min(64, side)
    const top = 4 * randoms.batches.int(0, (side - window) / 4)
    const left = 4 * randoms.batches.int(0, (side - window) / 4)
    const [low, high] = tf.tidy(() => {
      const lowFull = fromRgbBuffers(
        picks.map((i) => small[i]!),
        side / 4,
        side / 4,
      )
      const highFull = fromRgbBuffers(
        picks.map((i) => patches[i]!),
        side,
        side,
      )
      const n = picks.length
      return [
        tf
          .slice(lowFull, [0, top / 4, left / 4, 0], [n, window / 4, window / 4, 3])
          .div(127.5)
          .sub(1) as tfjs.Tensor4D,
        tf.slice(highFull, [0, top, left, 0], [n, window, window, 3]).div(127.5).sub(1) as tfjs.Tensor4D,
      ]
    })
    const loss = upOptimizer.minimize(() => tf.mean(tf.abs(tf.sub(upsample(tf, upNet, low!), high!))) as tfjs.Scalar, true, upNet.variables())
    loss!.dispose()
    low!.dispose()
    high!.dispose()
    onStep?.(plan.steps + step + 1, total)
  }
  upOptimizer.dispose()
  const weights = { unet: await unetNet.toWeights(), upsampler: await upNet.toWeights() }
  unetNet.dispose()
  upNet.dispose()
  return { weights, losses }
}

/** The pixel-diffusion generator: crop reduced ×4 → noised → DDPM sampling → learned ×4 up-sampler. */
export function createPixelDiffusionGenerator(tf: Tf, weights: Record<string, NetworkWeights>): MiniGenerator & { sampler: SamplerPlan; evaluations: number } {
  const unetNet = ParamSet.fromWeights(tf, UNET_SPECS, weights.unet!)
  const upNet = ParamSet.fromWeights(tf, UPSAMPLER_SPECS, weights.upsampler!)
  const model = unet(tf, unetNet)
  return {
    name: PIXEL_DIFFUSION_NAME,
    kind: 'model',
    description: `pixel-space diffusion: DDPM ${PIXEL_SAMPLER.steps} steps (from the crop reduced x4, noised to strength ${PIXEL_SAMPLER.strength}) with a ${PIXEL_UNET_ARCH}, then a learned ${UPSAMPLER_ARCH}`,
    sampler: PIXEL_SAMPLER,
    evaluations: samplerTimesteps(PIXEL_SAMPLER).length,
    async generate(crops, size, randoms) {
      const quarter = size / 4
      const small = await Promise.all(crops.map((crop) => resizeBicubic(crop, size, quarter)))
      const x0 = fromRgbSigned(small, quarter, quarter)
      const sampled = sample(tf, model, x0, PIXEL_SAMPLER, randoms)
      x0.dispose()
      const output = tf.tidy(() => upsample(tf, upNet, sampled).add(1).mul(127.5) as tfjs.Tensor4D)
      sampled.dispose()
      const images = await toRgbBuffers(output)
      output.dispose()
      return images
    },
    dispose() {
      unetNet.dispose()
      upNet.dispose()
    },
  }
}
