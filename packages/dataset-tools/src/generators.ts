/** One GenImage generator: its display name, the folder it lives in, and how its download archives are named. */
export interface GeneratorInfo {
  /** Name as the GenImage paper writes it, e.g. `SD V1.4`. */
  name: string
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

/** The folder that full-set training reads, built by `merge`. */
export const MERGED_FOLDER = 'imagenet_ai'
export const SPLITS = ['train', 'val'] as const
export const LABELS = ['ai', 'nature'] as const
export type Split = (typeof SPLITS)[number]
export type Label = (typeof LABELS)[number]

/**
 * Maps a download archive's base name to its generator, e.g. `imagenet_ai_0419_sdv4` → `SD V1.4`.
 * Returns undefined for names that match no generator.
 */
export function generatorForArchive(archiveBaseName: string): GeneratorInfo | undefined {
  return GENIMAGE_GENERATORS.find((generator) => generator.archivePattern.test(archiveBaseName))
}

/** Display name for a generator folder; folders that are not GenImage's (e.g. GenImage-mini's) keep their own name. */
export function generatorNameForFolder(folder: string): string {
  return GENIMAGE_GENERATORS.find((generator) => generator.folder === folder)?.name ?? folder
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff', '.gif', '.avif'])

/** The same test as `isImageFileName`, as a case-insensitive regular expression source (for worker threads). */
export const IMAGE_NAME_PATTERN = `\\.(${[...IMAGE_EXTENSIONS].map((extension) => extension.slice(1)).join('|')})$`

/** True for image file names, whatever the case of the extension (ADM ships `.PNG`). */
export function isImageFileName(name: string): boolean {
  const dot = name.lastIndexOf('.')
  return dot > 0 && IMAGE_EXTENSIONS.has(name.slice(dot).toLowerCase())
}
