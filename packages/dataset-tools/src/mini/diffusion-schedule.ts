import type * as tfjs from '@tensorflow/tfjs'
import type { Random } from './random.ts'
import { noiseFrom } from './tiny-nets.ts'
import type { Tf } from './tf-runtime.ts'

/** Length of the training noise schedule (DDPM's T). */
export const DIFFUSION_T = 1000

/** DDPM's linear β schedule from 1e-4 to 0.02 over `DIFFUSION_T` steps, with ᾱ_t = Π(1 − β). */
function linearSchedule(): { betas: Float64Array; alphaBars: Float64Array } {
  const betas = new Float64Array(DIFFUSION_T)
  const alphaBars = new Float64Array(DIFFUSION_T)
  let product = 1
  for (let t = 0; t < DIFFUSION_T; t++) {
    betas[t] = 1e-4 + ((0.02 - 1e-4) * t) / (DIFFUSION_T - 1)
    product *= 1 - betas[t]!
    alphaBars[t] = product
  }
  return { betas, alphaBars }
}

const SCHEDULE = linearSchedule()

/** ᾱ_t of the training schedule (t from 0 to T − 1). */
export function alphaBar(t: number): number {
  return SCHEDULE.alphaBars[t]!
}

/** A network that predicts the noise ε in `x_t` at timestep `t` (one t per batch item). Called inside `tf.tidy`. */
export type EpsilonModel = (x: tfjs.Tensor4D, timesteps: readonly number[]) => tfjs.Tensor4D

/** How a diffusion generator samples: the sampler, its number of steps over the whole schedule, and the start. */
export interface SamplerPlan {
  sampler: 'ddpm' | 'ddim'
  /** Steps over the full schedule (evenly spaced timesteps, as in DDIM's respacing). */
  steps: number
  /**
   * Fraction of the schedule sampling starts from (SDEdit / img2img): the real crop is noised to t = strength·T and
   * denoised from there, so content follows the crop and the generator's own traces are what differs. 1 = pure noise.
   */
  strength: number
}

/** Timesteps the sampler visits, high to low: the respaced grid cut at `strength`. */
export function samplerTimesteps(plan: SamplerPlan): number[] {
  const grid = Array.from({ length: plan.steps }, (_, i) => Math.round((i * (DIFFUSION_T - 1)) / Math.max(1, plan.steps - 1)))
  const start = Math.round(plan.strength * (DIFFUSION_T - 1))
  return grid.filter((t) => t <= start).reverse()
}

/** `x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε` for one t per batch item (the forward process; also the training input). */
export function noised(tf: Tf, x0: tfjs.Tensor4D, noise: tfjs.Tensor4D, timesteps: readonly number[]): tfjs.Tensor4D {
  const n = timesteps.length
  const signal = tf.tensor4d(
    timesteps.map((t) => Math.sqrt(alphaBar(t))),
    [n, 1, 1, 1],
  )
  const spread = tf.tensor4d(
    timesteps.map((t) => Math.sqrt(1 - alphaBar(t))),
    [n, 1, 1, 1],
  )
  return tf.add(tf.mul(x0, signal), tf.mul(noise, spread)) as tfjs.Tensor4D
}

/**
 * Runs the reverse process from `x0` (clean data, e.g. a crop's latent) noised to the plan's start: DDPM ancestral
 * steps (x_{t'} drawn from the posterior, fresh noise each step) or deterministic DDIM (η = 0). Noise comes from
 * one stream per batch item, so an item's result does not depend on its batch. Returns the predicted x₀.
 */
export function sample(tf: Tf, model: EpsilonModel, x0: tfjs.Tensor4D, plan: SamplerPlan, randoms: readonly Random[]): tfjs.Tensor4D {
  const times = samplerTimesteps(plan)
  const n = x0.shape[0]
  const same = (t: number) => Array.from({ length: n }, () => t)
  return tf.tidy(() => {
    if (times.length === 0) return x0.clone()
    let x = noised(tf, x0, noiseFrom(tf, randoms, x0.shape) as tfjs.Tensor4D, same(times[0]!))
    for (const [i, t] of times.entries()) {
      const previous = times[i + 1]
      const abT = alphaBar(t)
      const abPrev = previous === undefined ? 1 : alphaBar(previous)
      const next = tf.tidy(() => {
        const eps = model(x, same(t))
        const predicted = tf.clipByValue(tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - abT))), Math.sqrt(abT)), -4, 4)
        if (plan.sampler === 'ddim' || previous === undefined) {
          if (previous === undefined) return predicted as tfjs.Tensor4D
          return tf.add(tf.mul(predicted, Math.sqrt(abPrev)), tf.mul(eps, Math.sqrt(1 - abPrev))) as tfjs.Tensor4D
        }
        // Posterior q(x_{t'} | x_t, x̂₀) of the respaced chain: β = 1 − ᾱ_t/ᾱ_{t'}.
        const beta = 1 - abT / abPrev
        const meanX0 = (Math.sqrt(abPrev) * beta) / (1 - abT)
        const meanXt = (Math.sqrt(1 - beta) * (1 - abPrev)) / (1 - abT)
        const variance = (beta * (1 - abPrev)) / (1 - abT)
        const z = noiseFrom(tf, randoms, x0.shape)
        return tf.add(tf.add(tf.mul(predicted, meanX0), tf.mul(x, meanXt)), tf.mul(z, Math.sqrt(variance))) as tfjs.Tensor4D
      })
      x.dispose()
      x = next
    }
    return x
  })
}

/**
 * Standard ε-prediction loss of one training batch: uniform t, `‖ε − model(x_t, t)‖²`. `random` draws the timesteps
 * and the noise; call inside an optimizer's `minimize`.
 */
export function epsilonLoss(tf: Tf, model: EpsilonModel, x0: tfjs.Tensor4D, random: Random): tfjs.Scalar {
  const n = x0.shape[0]
  const timesteps = Array.from({ length: n }, () => random.int(0, DIFFUSION_T - 1))
  const noise = noiseFrom(
    tf,
    Array.from({ length: n }, () => random),
    x0.shape,
  ) as tfjs.Tensor4D
  return tf.mean(tf.squaredDifference(model(noised(tf, x0, noise, timesteps), timesteps), noise)) as tfjs.Scalar
}
