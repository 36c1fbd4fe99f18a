import type { GenImageGenerator } from './generators.ts'

/** How a generator makes images, as GenImage's analysis groups them. */
export type GeneratorFamily = 'latent-diffusion' | 'pixel-diffusion' | 'vq-diffusion' | 'gan' | 'undisclosed'

/**
 * The family of each GenImage generator. SD V1.4, SD V1.5 and Wukong decode with one latent-diffusion autoencoder,
 * which is why a detector trained on SD V1.4 scores 98–99% on them and about 50% on ADM, GLIDE (pixel-space
 * diffusion) and BigGAN (Table 3). Midjourney's method is not published.
 */
export const GENERATOR_FAMILIES: Readonly<Record<GenImageGenerator, GeneratorFamily>> = {
  Midjourney: 'undisclosed',
  'SD V1.4': 'latent-diffusion',
  'SD V1.5': 'latent-diffusion',
  ADM: 'pixel-diffusion',
  GLIDE: 'pixel-diffusion',
  Wukong: 'latent-diffusion',
  VQDM: 'vq-diffusion',
  BigGAN: 'gan',
}
