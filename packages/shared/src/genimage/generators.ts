/** The eight generators of GenImage as the paper writes them, in its column order. */
export const GENERATOR_NAMES = ['Midjourney', 'SD V1.4', 'SD V1.5', 'ADM', 'GLIDE', 'Wukong', 'VQDM', 'BigGAN'] as const
export type GenImageGenerator = (typeof GENERATOR_NAMES)[number]

/** One GenImage generator: its paper name, the folder it lives in, and how its download archives are named. */
export interface GeneratorInfo {
  /** Name as the GenImage paper writes it, e.g. `SD V1.4`. */
  name: GenImageGenerator
  /** Folder-safe form used on disk: `<root>/<folder>/{train,val}/{ai,nature}`. */
  folder: string
  /** Matches the archive base name of the download (`imagenet_ai_0419_sdv4.zip` → `imagenet_ai_0419_sdv4`). */
  archivePattern: RegExp
}

/** The eight GenImage generators, in the paper's order. */
export const GENIMAGE_GENERATORS: readonly GeneratorInfo[] = [
  { name: 'Midjourney', folder: 'Midjourney', archivePattern: /midjourney/i },
  { name: 'SD V1.4', folder: 'SD_V1.4', archivePattern: /sd_?v_?1?_?4|stable_diffusion_v_?1_4/i },
  { name: 'SD V1.5', folder: 'SD_V1.5', archivePattern: /sd_?v_?1?_?5|stable_diffusion_v_?1_5/i },
  { name: 'ADM', folder: 'ADM', archivePattern: /adm/i },
  { name: 'GLIDE', folder: 'GLIDE', archivePattern: /glide/i },
  { name: 'Wukong', folder: 'Wukong', archivePattern: /wukong/i },
  { name: 'VQDM', folder: 'VQDM', archivePattern: /vqdm/i },
  { name: 'BigGAN', folder: 'BigGAN', archivePattern: /biggan/i },
]

/**
 * Maps a download archive's base name to its generator, e.g. `imagenet_ai_0419_sdv4` → `SD V1.4`.
 * Returns undefined for names that match no generator.
 */
export function generatorForArchive(archiveBaseName: string): GeneratorInfo | undefined {
  return GENIMAGE_GENERATORS.find((generator) => generator.archivePattern.test(archiveBaseName))
}

const squash = (name: string) =>
  name
    .toLowerCase()
    .replace(/stable[\s_-]*diffusion/g, 'sd')
    .replace(/[^a-z0-9]/g, '')

/**
 * The one normaliser of generator names: the paper's name for a folder or spelling (`SD_V1.4`,
 * `stable_diffusion_v_1_4`, `sd v1.4` → `SD V1.4`); undefined for names that are not one of GenImage's eight
 * (e.g. GenImage-mini's generators).
 */
export function paperGeneratorName(name: string): GenImageGenerator | undefined {
  const key = squash(name).replace(/^sdv?(1)(4|5)$/, 'sdv1$2')
  return GENERATOR_NAMES.find((generator) => squash(generator) === key)
}

/** The name to show for a generator folder: the paper's name where it is one of GenImage's eight, else the folder as is. */
export function generatorDisplayName(folder: string): string {
  return paperGeneratorName(folder) ?? folder
}

/** True when the dataset's generators are exactly GenImage's eight, so the paper's numbers are comparable. */
export function isGenImageDataset(generators: readonly string[]): boolean {
  const names = new Set(generators.map(paperGeneratorName))
  return generators.length === GENERATOR_NAMES.length && GENERATOR_NAMES.every((generator) => names.has(generator))
}
