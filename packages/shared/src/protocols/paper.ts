import { GENIMAGE_GENERATORS, resolveZooModel, UnknownModelError } from '../zoo/index.ts'

/** Where the published numbers come from. */
export const GENIMAGE_PAPER = 'GenImage (Zhu et al., NeurIPS 2023, arXiv 2306.08571)'

const squash = (name: string) => name.toLowerCase().replace(/stable[\s_-]*diffusion/g, 'sd').replace(/[^a-z0-9]/g, '')

/**
 * The paper's name for a generator folder (`SD_V1.4`, `stable_diffusion_v_1_4` → `SD V1.4`);
 * undefined for folders that are not one of GenImage's eight (e.g. GenImage-mini's).
 */
export function paperGeneratorName(folder: string): string | undefined {
  const key = squash(folder).replace(/^sdv?(1)(4|5)$/, 'sdv1$2')
  return GENIMAGE_GENERATORS.find((g) => squash(g) === key)
}

/** True when the dataset's generators are exactly GenImage's eight, so the paper's numbers are comparable. */
export function isGenImageDataset(generators: readonly string[]): boolean {
  const names = new Set(generators.map(paperGeneratorName))
  return generators.length === GENIMAGE_GENERATORS.length && GENIMAGE_GENERATORS.every((g) => names.has(g))
}

/** A published Table 3 average (percent) for a zoo model's architecture, with its source. */
export interface PublishedAverage {
  architecture: string
  displayName: string
  average: number
  source: string
}

/**
 * The published average accuracy on the Table 3 protocol (train SD V1.4, test all eight) for the
 * architecture behind a zoo model name (`npr-tiny` → NPR's 90.1). Only averages are carried: per-subset
 * numbers were not transcribed. A tiny variant is a different model; the caller says so beside the number.
 */
export function publishedTable3Average(model: string): PublishedAverage | undefined {
  try {
    const { entry } = resolveZooModel(model)
    if (entry.paper.genimageTable3Average === undefined) return undefined
    return {
      architecture: entry.architecture,
      displayName: entry.displayName,
      average: entry.paper.genimageTable3Average,
      source: entry.paper.table3Source ?? GENIMAGE_PAPER,
    }
  } catch (error) {
    if (error instanceof UnknownModelError) return undefined
    throw error
  }
}
