import { GENERATOR_FAMILIES, type GeneratorFamily, type GenImageGenerator } from '@genimage/shared/genimage'
import { DatasetError } from '../errors.ts'
import { MINI_GENERATOR_NAMES, type MiniGeneratorName } from './generators.ts'

/** GenImage-mini's generator families: the paper's three (latent/pixel diffusion, GAN) plus up-samplers, a bare autoencoder and a control. */
export const MINI_FAMILIES = ['upsampler', 'autoencoder', 'latent-diffusion', 'pixel-diffusion', 'gan', 'control'] as const
export type MiniFamily = (typeof MINI_FAMILIES)[number]

/** The one statement of which family each mini generator belongs to. */
export const MINI_GENERATOR_FAMILY: Readonly<Record<MiniGeneratorName, MiniFamily>> = {
  'RDN-slim': 'upsampler',
  'RDN-medium': 'upsampler',
  'AE-decoder': 'autoencoder',
  'LDM-ddpm-50': 'latent-diffusion',
  'LDM-ddim-20': 'latent-diffusion',
  'PixDM-ddpm-50': 'pixel-diffusion',
  'GAN-tconv': 'gan',
  Bicubic: 'control',
}

/** The GenImage family a mini family stands in for, if any (tiny networks on a few photos: analogues, not replicas). */
export function paperFamilyOf(family: MiniFamily): GeneratorFamily | undefined {
  return (Object.values(GENERATOR_FAMILIES) as string[]).includes(family) ? (family as GeneratorFamily) : undefined
}

/** GenImage generators of the paper family a mini family stands in for (e.g. `latent-diffusion` → SD V1.4, SD V1.5, Wukong). */
export function paperGeneratorsOf(family: MiniFamily): GenImageGenerator[] {
  return (Object.entries(GENERATOR_FAMILIES) as Array<[GenImageGenerator, GeneratorFamily]>).filter(([, f]) => f === family).map(([g]) => g)
}

/** Generators of the given families, in folder order; rejects unknown family names with `bad_option`. */
export function generatorsOfFamilies(families: readonly string[]): MiniGeneratorName[] {
  const unknown = families.filter((f) => !(MINI_FAMILIES as readonly string[]).includes(f))
  if (unknown.length > 0 || families.length === 0) {
    throw new DatasetError('bad_option', `unknown generator family ${unknown.join(', ') || '(none given)'}; known: ${MINI_FAMILIES.join(', ')}`)
  }
  return MINI_GENERATOR_NAMES.filter((name) => families.includes(MINI_GENERATOR_FAMILY[name]))
}
