import { DatasetError } from '../errors.ts'
import type { AutoencoderRecord } from './autoencoder-cache.ts'
import { generatorsOfFamilies, MINI_GENERATOR_FAMILY } from './families.ts'
import type { GeneratorRecord, TrainedFamily } from './family-networks.ts'
import { MINI_GENERATOR_NAMES, type MiniGeneratorName } from './generators.ts'
import type { NetworkRecord } from './network-cache.ts'
import type { PhotoSplit } from './photos.ts'

/** File at the root of a GenImage-mini build describing how it was made. */
export const MINI_MANIFEST_FILE = 'mini.json'

/** Contents of `mini.json`. */
export interface MiniManifest {
  dataset: 'GenImage-mini'
  version: 1
  seed: number
  size: number
  perClass: { train: number; val: number }
  debias: boolean
  formats: { ai: string; nature: string }
  /** Per generator: family (and the GenImage generators it stands in for), network, parameters, steps, weights' sha256. */
  generators: GeneratorRecord[]
  /** Source photos per split; the lists never share a photo. */
  photos: { dir: string } & PhotoSplit
  autoencoder?: AutoencoderRecord
  /** How each trained family's networks were obtained (shipped, cached or trained now) and trained. */
  networks: Partial<Record<TrainedFamily, NetworkRecord>>
  backend: { tfjs: string; fallbackReason?: string }
  /** Wall-clock seconds per phase (photos, autoencoder, each generator, total) and the process's CPU seconds. */
  timings: Record<string, number>
  builtAt: string
}

/** Build settings after defaults and validation. */
export interface MiniSettings {
  seed: number
  size: number
  perClassTrain: number
  perClassVal: number
  debias: boolean
  generators: MiniGeneratorName[]
}

interface RawMiniOptions {
  seed?: number
  size?: number
  perClassTrain?: number
  perClassVal?: number
  debias?: boolean
  generators?: readonly string[]
  families?: readonly string[]
  autoencoderSteps?: number
  familySteps?: Partial<Record<string, number>>
}

/** Applies defaults and rejects bad values with `DatasetError('bad_option')` naming the option. */
export function validateMiniOptions(options: RawMiniOptions): MiniSettings {
  const integer = (name: string, value: number | undefined, fallback: number, min: number, max: number): number => {
    const v = value ?? fallback
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new DatasetError('bad_option', `${name} must be an integer from ${min} to ${max}; got ${String(value)}`)
    }
    return v
  }
  const size = integer('size', options.size, 128, 32, 1024)
  if (size % 4 !== 0) throw new DatasetError('bad_option', `size must be a multiple of 4; got ${size}`)
  integer('autoencoderSteps', options.autoencoderSteps, 1, 1, 100_000)
  for (const [family, steps] of Object.entries(options.familySteps ?? {})) integer(`familySteps.${family}`, steps, 1, 1, 100_000)
  const generators = [...(options.generators ?? MINI_GENERATOR_NAMES)]
  const unknown = generators.filter((g) => !(MINI_GENERATOR_NAMES as readonly string[]).includes(g))
  if (unknown.length > 0 || generators.length === 0) {
    throw new DatasetError('bad_option', `unknown generator ${unknown.join(', ') || '(none given)'}; known: ${MINI_GENERATOR_NAMES.join(', ')}`)
  }
  const ofFamilies = options.families ? generatorsOfFamilies(options.families) : MINI_GENERATOR_NAMES
  const selected = MINI_GENERATOR_NAMES.filter((g) => generators.includes(g) && ofFamilies.includes(g))
  if (selected.length === 0) throw new DatasetError('bad_option', `no generator is both in --generators and in --families ${options.families?.join(',')}`)
  const needsEight = selected.filter((g) => ['pixel-diffusion', 'gan'].includes(MINI_GENERATOR_FAMILY[g]))
  if (needsEight.length > 0 && size % 8 !== 0) {
    throw new DatasetError('bad_option', `size must be a multiple of 8 for ${needsEight.join(', ')}; got ${size}`)
  }
  return {
    seed: integer('seed', options.seed, 1, 0, 2 ** 32 - 1),
    size,
    perClassTrain: integer('perClassTrain', options.perClassTrain, 500, 1, 1_000_000),
    perClassVal: integer('perClassVal', options.perClassVal, 100, 1, 1_000_000),
    debias: options.debias ?? false,
    generators: selected,
  }
}
