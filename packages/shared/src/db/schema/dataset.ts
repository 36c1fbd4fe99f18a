import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * The manifest of a dataset root: one row per image. Training and evaluation read this, not directory walks.
 * `dataset` is the root's absolute path; `path` is relative to it.
 */
export const manifestImages = sqliteTable(
  'manifest_images',
  {
    dataset: text('dataset').notNull(),
    path: text('path').notNull(),
    generator: text('generator').notNull(),
    split: text('split').notNull(),
    label: text('label').notNull(),
    format: text('format').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    bytes: integer('bytes').notNull(),
    jpegQuality: integer('jpeg_quality'),
    sha256: text('sha256').notNull(),
    mtimeMs: integer('mtime_ms').notNull(),
  },
  (t) => [primaryKey({ columns: [t.dataset, t.path] }), index('manifest_images_subset_idx').on(t.dataset, t.generator, t.split, t.label)],
)
