import type * as tfjs from '@tensorflow/tfjs'
import { resizeBicubic } from './crops.ts'
import type { MiniGenerator } from './generators.ts'
import type { FamilyTraining, NetworkPlan, TrainedNetworks } from './network-cache.ts'
import { fromRgbSigned, toRgbBuffers, type Tf } from './tf-runtime.ts'
import { convSpecs, convTransposeSpecs, type NetworkWeights, noiseFrom, ParamSet, type ParamSpec } from './tiny-nets.ts'

/**
 * GAN, GenImage-mini's BigGAN analogue: a generator of three strided (×2) 4×4 transposed convolutions that turns
 * noise plus a 1/8-size thumbnail of a crop into a full-size image (pix2pix-style conditioning, so content follows
 * the crop and the generator's own traces are what differs), trained adversarially against a small PatchGAN
 * discriminator (non-saturating loss) plus an L1 term, on patches of the train photos only.
 */
export const GAN_ARCH = 'gan-tconv-v1'
/** Generator folder name of the GAN family. */
export const GAN_NAME = 'GAN-tconv'
const NOISE_CHANNELS = 4
const L1_WEIGHT = 10

const GENERATOR_SPECS: readonly ParamSpec[] = [
  ...convSpecs('g_in', 3, 3 + NOISE_CHANNELS, 48),
  ...convTransposeSpecs('g_t1', 4, 48, 32),
  ...convTransposeSpecs('g_t2', 4, 32, 16),
  ...convTransposeSpecs('g_t3', 4, 16, 8),
  ...convSpecs('g_out', 3, 8, 3),
]
const DISCRIMINATOR_SPECS: readonly ParamSpec[] = [
  ...convSpecs('d_1', 4, 3, 16),
  ...convSpecs('d_2', 4, 16, 32),
  ...convSpecs('d_3', 4, 32, 64),
  ...convSpecs('d_out', 3, 64, 1),
]

/** Default plan: adversarial steps (one discriminator + one generator update each); 500 took 191 s wall on a shared 2-core machine. */
export function defaultGanPlan(seed: number, size: number, steps = 500): NetworkPlan {
  return { arch: GAN_ARCH, seed, size, steps, batchSize: 8, learningRate: 2e-4, patchSize: Math.min(64, size), patchCount: Math.min(256, steps * 8) }
}

/** Thumbnail (`[-1, 1]`, side/8) + noise → image in [-1, 1] at 8× the side. */
function generate(tf: Tf, g: ParamSet, thumbnails: tfjs.Tensor4D, noise: tfjs.Tensor4D): tfjs.Tensor4D {
  let h = tf.relu(g.conv(tf.concat([thumbnails, noise], 3), 'g_in')) as tfjs.Tensor4D
  for (const layer of ['g_t1', 'g_t2', 'g_t3']) h = tf.relu(g.convTranspose(h, layer)) as tfjs.Tensor4D
  return tf.tanh(g.conv(h, 'g_out')) as tfjs.Tensor4D
}

/** Patch logits: three stride-2 4×4 convolutions with leaky ReLU, then a 3×3 convolution to one channel. */
function discriminate(tf: Tf, d: ParamSet, images: tfjs.Tensor4D): tfjs.Tensor4D {
  let h = images
  for (const layer of ['d_1', 'd_2', 'd_3']) h = tf.leakyRelu(d.conv(h, layer, 2), 0.2) as tfjs.Tensor4D
  return d.conv(h, 'd_out')
}

/** Trains generator and discriminator in alternation with Adam (β₁ = 0.5); returns the generator's weights. */
export async function trainGan({ tf, patches, plan, randoms, onStep, signal }: FamilyTraining): Promise<TrainedNetworks> {
  const side = plan.patchSize
  const thumbs = await Promise.all(patches.map((p) => resizeBicubic(p, side, side / 8)))
  const params = ParamSet.create(tf, GAN_ARCH, [...GENERATOR_SPECS, ...DISCRIMINATOR_SPECS], randoms.init)
  const gOptimizer = tf.train.adam(plan.learningRate, 0.5)
  const dOptimizer = tf.train.adam(plan.learningRate, 0.5)
  const losses: number[] = []
  for (let step = 0; step < plan.steps && !signal?.aborted; step++) {
    const picks = Array.from({ length: plan.batchSize }, () => randoms.batches.int(0, patches.length - 1))
    const streams = picks.map(() => randoms.batches)
    const [real, thumb, noise] = tf.tidy(() => [
      fromRgbSigned(
        picks.map((i) => patches[i]!),
        side,
        side,
      ),
      fromRgbSigned(
        picks.map((i) => thumbs[i]!),
        side / 8,
        side / 8,
      ),
      noiseFrom(tf, streams, [picks.length, side / 8, side / 8, NOISE_CHANNELS]) as tfjs.Tensor4D,
    ])
    const dLoss = dOptimizer.minimize(
      () => {
        const fake = generate(tf, params, thumb!, noise!)
        const onReal = tf.mean(tf.softplus(tf.neg(discriminate(tf, params, real!))))
        return tf.add(onReal, tf.mean(tf.softplus(discriminate(tf, params, fake)))) as tfjs.Scalar
      },
      true,
      params.variables('d_'),
    )
    const gLoss = gOptimizer.minimize(
      () => {
        const fake = generate(tf, params, thumb!, noise!)
        const adversarial = tf.mean(tf.softplus(tf.neg(discriminate(tf, params, fake))))
        return tf.add(adversarial, tf.mul(L1_WEIGHT, tf.mean(tf.abs(tf.sub(fake, real!))))) as tfjs.Scalar
      },
      true,
      params.variables('g_'),
    )
    losses.push((await gLoss!.data())[0]!)
    for (const t of [dLoss!, gLoss!, real!, thumb!, noise!]) t.dispose()
    onStep?.(step + 1, plan.steps)
  }
  gOptimizer.dispose()
  dOptimizer.dispose()
  const all = await params.toWeights()
  params.dispose()
  return { weights: { generator: { arch: GAN_ARCH, params: all.params.filter((p) => p.name.startsWith('g_')) } }, losses }
}

/** The GAN generator: thumbnail (crop reduced ×8) + per-item noise → image at the mini size. */
export function createGanGenerator(tf: Tf, weights: NetworkWeights): MiniGenerator {
  const g = ParamSet.fromWeights(tf, GENERATOR_SPECS, weights)
  return {
    name: GAN_NAME,
    kind: 'model',
    description: `GAN (${GAN_ARCH}): three strided 4x4 transposed convolutions from the crop reduced x8 plus noise, trained adversarially`,
    async generate(crops, size, randoms) {
      const eighth = size / 8
      const thumbs = await Promise.all(crops.map((crop) => resizeBicubic(crop, size, eighth)))
      const output = tf.tidy(() => {
        const thumb = fromRgbSigned(thumbs, eighth, eighth)
        const noise = noiseFrom(tf, randoms, [crops.length, eighth, eighth, NOISE_CHANNELS]) as tfjs.Tensor4D
        return generate(tf, g, thumb, noise).add(1).mul(127.5) as tfjs.Tensor4D
      })
      const images = await toRgbBuffers(output)
      output.dispose()
      return images
    },
    dispose: () => g.dispose(),
  }
}
