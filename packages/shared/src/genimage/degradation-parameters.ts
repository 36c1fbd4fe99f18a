import type { Interpolation } from './resampling.ts'

/** How test images are degraded where the GenImage paper is silent: explicit parameters, recorded with every result. */
export interface DegradationParameters {
  /** Resampling of `downscale-*` (the paper names none). */
  interpolation: Interpolation
  /** Degrade real (`nature`) images too, not only generated ones (the paper does not say). */
  degradeReal: boolean
}

/**
 * The platform's one set of defaults, shared by the experiment protocol (`ExperimentSpec`), the table5 evaluator
 * and `genimage dataset degrade`: bilinear downscaling, both classes degraded.
 */
export const DEFAULT_DEGRADATION_PARAMETERS: Readonly<DegradationParameters> = { interpolation: 'bilinear', degradeReal: true }
