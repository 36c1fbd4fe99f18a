/**
 * Resampling kernels by the names the platform records (model cards, experiment specs, `degrade.json`), in the
 * PIL/timm spelling. GenImage states none for its downscale degradations, so the choice is always recorded.
 */
export const INTERPOLATIONS = ['nearest', 'bilinear', 'bicubic', 'mitchell', 'lanczos2', 'lanczos3'] as const
export type Interpolation = (typeof INTERPOLATIONS)[number]

/** The name sharp (libvips) gives each kernel: `resize({ kernel: SHARP_KERNELS[interpolation] })`. */
export const SHARP_KERNELS = {
  nearest: 'nearest',
  bilinear: 'linear',
  bicubic: 'cubic',
  mitchell: 'mitchell',
  lanczos2: 'lanczos2',
  lanczos3: 'lanczos3',
} as const satisfies Record<Interpolation, string>
export type SharpKernel = (typeof SHARP_KERNELS)[Interpolation]
