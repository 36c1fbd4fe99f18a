import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { once } from 'node:events'
import {
  countManifestRecords,
  createDb,
  type Db,
  deleteManifestRecords,
  ensureDbDirectory,
  type ManifestRecord,
  readManifestRecords,
  recordedFileStats,
  upsertManifestRecords,
} from '@genimage/shared/db'
import { readImageHeader } from '@genimage/imaging'
import { defaultImageConcurrency, forEachConcurrent } from './pool.ts'
import { silentProgress, type Progress } from './progress.ts'
import { TOOL_FOLDER } from './state.ts'
import { assertDirectory, chunked, countImages, walkImages, type LayoutImage, type WalkOptions } from './walk.ts'

export type { ManifestRecord }

export interface ManifestOptions extends WalkOptions {
  /** libSQL URL; default `file:<root>/.genimage/manifest.db`. */
  dbUrl?: string
  /** Auth token for a remote libSQL server (the CLI passes `DATABASE_AUTH_TOKEN`). */
  dbAuthToken?: string
  /** Also write every record of this root as JSON Lines here. */
  jsonlPath?: string
  concurrency?: number
  /** Images hashed and committed together (default 200); a commit is the unit an interrupted run keeps. */
  batchSize?: number
  progress?: Progress
  signal?: AbortSignal
}

export interface ManifestReport {
  root: string
  dbUrl: string
  /** Images in the manifest for this root after the run. */
  records: number
  /** Hashed and (re)written by this run. */
  written: number
  /** Already recorded with the same size and modification time. */
  unchanged: number
  /** Rows removed because their file is gone. */
  removed: number
  /** Files whose header could not be read (still recorded, format `unknown`). */
  unreadable: string[]
  jsonlPath?: string
  interrupted: boolean
}

const ROWS_PER_BATCH = 200

/** The default manifest database of a root. */
export function defaultManifestUrl(root: string): string {
  return `file:${resolve(root, TOOL_FOLDER, 'manifest.db')}`
}

/** Reads one image and returns its manifest record: sha256 of the bytes, format, size and estimated JPEG quality. */
export async function describeImage(dataset: string, image: LayoutImage): Promise<{ record: ManifestRecord; readable: boolean }> {
  const [bytes, info] = await Promise.all([readFile(image.absPath), stat(image.absPath)])
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const header = await readImageHeader(bytes)
  const record: ManifestRecord = {
    dataset,
    path: image.relPath,
    generator: image.generator,
    split: image.split,
    label: image.label,
    format: header?.format ?? 'unknown',
    width: header?.width ?? 0,
    height: header?.height ?? 0,
    bytes: bytes.length,
    jpegQuality: header?.jpegQuality ?? null,
    sha256,
    mtimeMs: Math.floor(info.mtimeMs),
  }
  return { record, readable: header !== undefined }
}

async function unchangedPaths(db: Db, dataset: string, images: LayoutImage[]): Promise<Set<string>> {
  const rows = await recordedFileStats(
    db,
    dataset,
    images.map((image) => image.relPath),
  )
  const recorded = new Map(rows.map((row) => [row.path, row]))
  const unchanged = new Set<string>()
  await Promise.all(
    images.map(async (image) => {
      const row = recorded.get(image.relPath)
      if (!row) return
      const info = await stat(image.absPath)
      if (info.size === row.bytes && Math.floor(info.mtimeMs) === row.mtimeMs) unchanged.add(image.relPath)
    }),
  )
  return unchanged
}

/**
 * Records every image under `root` in the `manifest_images` table (libSQL): path, generator, split, label, format,
 * width, height, bytes, estimated JPEG quality and sha256. Files already recorded with the same size and mtime are
 * skipped, so an interrupted run continues and a re-run only hashes what changed. Rows of files that are gone are removed.
 */
export async function buildManifest(root: string, options: ManifestOptions = {}): Promise<ManifestReport> {
  await assertDirectory(root, 'dataset root')
  const dataset = resolve(root)
  const dbUrl = options.dbUrl ?? defaultManifestUrl(root)
  await ensureDbDirectory(dbUrl)
  const db = await createDb(dbUrl, { authToken: options.dbAuthToken })
  const progress = options.progress ?? silentProgress
  const report: ManifestReport = { root: dataset, dbUrl, records: 0, written: 0, unchanged: 0, removed: 0, unreadable: [], interrupted: false }
  try {
    if (progress.active) progress.start(await countImages(root, options), 'manifest')
    for await (const batch of chunked(walkImages(root, options), options.batchSize ?? ROWS_PER_BATCH)) {
      if (options.signal?.aborted) break
      const unchanged = await unchangedPaths(db, dataset, batch)
      const records: ManifestRecord[] = []
      await forEachConcurrent(
        batch.filter((image) => !unchanged.has(image.relPath)),
        options.concurrency ?? defaultImageConcurrency(),
        async (image) => {
          const { record, readable } = await describeImage(dataset, image)
          if (!readable) report.unreadable.push(image.relPath)
          records.push(record)
        },
      )
      await upsertManifestRecords(db, records)
      report.written += records.length
      report.unchanged += unchanged.size
      progress.increment(batch.length)
    }
    report.interrupted = Boolean(options.signal?.aborted)
    report.records = await countManifestRecords(db, dataset)
    // Every file the walk saw has a row; more rows than that means some files are gone.
    if (!report.interrupted && report.records > report.written + report.unchanged) {
      report.removed = await removeVanished(db, dataset)
      report.records = await countManifestRecords(db, dataset)
    }
    if (options.jsonlPath && !report.interrupted) {
      await writeManifestJsonl(db, dataset, options.jsonlPath)
      report.jsonlPath = options.jsonlPath
    }
  } finally {
    progress.stop()
    db.$client.close()
  }
  return report
}

async function removeVanished(db: Db, dataset: string): Promise<number> {
  const vanished: string[] = []
  await forEachConcurrent(readManifestRecords(db, dataset), 16, async (record) => {
    if (
      !(await stat(resolve(dataset, record.path)).then(
        () => true,
        () => false,
      ))
    )
      vanished.push(record.path)
  })
  for (let i = 0; i < vanished.length; i += ROWS_PER_BATCH) {
    await deleteManifestRecords(db, dataset, vanished.slice(i, i + ROWS_PER_BATCH))
  }
  return vanished.length
}

async function writeManifestJsonl(db: Db, dataset: string, path: string): Promise<void> {
  const out = createWriteStream(path)
  for await (const record of readManifestRecords(db, dataset)) {
    if (!out.write(`${JSON.stringify(record)}\n`)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}
