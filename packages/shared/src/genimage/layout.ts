/** The folder that full-set training reads, built by `dataset merge`: `imagenet_ai/{train,val}/{ai,nature}`. */
export const MERGED_FOLDER = 'imagenet_ai'
export const SPLITS = ['train', 'val'] as const
export const LABELS = ['ai', 'nature'] as const
export type Split = (typeof SPLITS)[number]
export type Label = (typeof LABELS)[number]

/** Extensions counted as images everywhere (dataset tools, training, evaluation), compared case-insensitively. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff', '.gif', '.avif'])

/** The same test as `isImageFileName`, as a case-insensitive regular expression source (for worker threads). */
export const IMAGE_NAME_PATTERN = `\\.(${[...IMAGE_EXTENSIONS].map((extension) => extension.slice(1)).join('|')})$`

/** True for image file names, whatever the case of the extension (ADM ships `.PNG`). */
export function isImageFileName(name: string): boolean {
  const dot = name.lastIndexOf('.')
  return dot > 0 && IMAGE_EXTENSIONS.has(name.slice(dot).toLowerCase())
}
