import { asc, eq } from 'drizzle-orm'
import type { Db } from './index.ts'
import { manifestImages } from './schema/dataset.ts'

/** What training needs of one manifest row: where the image is (relative to the dataset root) and how it is labelled. */
export interface ManifestImage {
  path: string
  generator: string
  split: string
  /** 'ai' or 'nature', from the folder. */
  label: string
  /** 'unknown' when the manifest found the file unreadable. */
  format: string
}

/**
 * The images a manifest recorded for one dataset root (`dataset` is the root's absolute path), sorted by path.
 * @example const rows = await manifestImagesOf(db, resolve('data/mini'))
 */
export async function manifestImagesOf(db: Db, dataset: string): Promise<ManifestImage[]> {
  return db
    .select({
      path: manifestImages.path,
      generator: manifestImages.generator,
      split: manifestImages.split,
      label: manifestImages.label,
      format: manifestImages.format,
    })
    .from(manifestImages)
    .where(eq(manifestImages.dataset, dataset))
    .orderBy(asc(manifestImages.path))
}
