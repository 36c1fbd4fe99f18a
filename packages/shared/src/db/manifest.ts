import { and, asc, eq, getTableColumns, gt, inArray, sql } from 'drizzle-orm'
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

/** One manifest row as the dataset tools write it. */
export type ManifestRecord = typeof manifestImages.$inferInsert

/** The size and modification time recorded for each of `paths` (those with a row) of one dataset root. */
export async function recordedFileStats(db: Db, dataset: string, paths: string[]): Promise<Array<{ path: string; bytes: number; mtimeMs: number }>> {
  return db
    .select({ path: manifestImages.path, bytes: manifestImages.bytes, mtimeMs: manifestImages.mtimeMs })
    .from(manifestImages)
    .where(and(eq(manifestImages.dataset, dataset), inArray(manifestImages.path, paths)))
}

/** Columns an upsert rewrites: all but the key (dataset, path), each from the row that was refused as a duplicate. */
const UPSERT_SET = Object.fromEntries(
  Object.entries(getTableColumns(manifestImages))
    .filter(([key]) => key !== 'dataset' && key !== 'path')
    .map(([key, column]) => [key, sql.raw(`excluded.${column.name}`)]),
)

/** Inserts rows, replacing the row of the same (dataset, path) where there is one. */
export async function upsertManifestRecords(db: Db, records: ManifestRecord[]): Promise<void> {
  if (records.length === 0) return
  await db
    .insert(manifestImages)
    .values(records)
    .onConflictDoUpdate({ target: [manifestImages.dataset, manifestImages.path], set: UPSERT_SET })
}

/** Rows recorded for one dataset root. */
export async function countManifestRecords(db: Db, dataset: string): Promise<number> {
  const counted = await db.select({ count: sql<number>`count(*)` }).from(manifestImages).where(eq(manifestImages.dataset, dataset))
  return Number(counted[0]?.count ?? 0)
}

/** Streams the manifest of `dataset` (an absolute root), page by page, in path order. */
export async function* readManifestRecords(db: Db, dataset: string, pageSize = 2_000): AsyncGenerator<ManifestRecord> {
  let after = ''
  while (true) {
    const page = await db
      .select()
      .from(manifestImages)
      .where(and(eq(manifestImages.dataset, dataset), gt(manifestImages.path, after)))
      .orderBy(asc(manifestImages.path))
      .limit(pageSize)
    if (page.length === 0) return
    yield* page
    after = page[page.length - 1]!.path
  }
}

/** Removes the rows of `paths` of one dataset root. */
export async function deleteManifestRecords(db: Db, dataset: string, paths: string[]): Promise<void> {
  await db.delete(manifestImages).where(and(eq(manifestImages.dataset, dataset), inArray(manifestImages.path, paths)))
}
