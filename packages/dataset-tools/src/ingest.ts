import { mkdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { findArchiveSets, findUnsafeEntries, joinSplitArchive, openZip, readEntryBytes, zipEntries, type ArchiveEntry } from './archives.ts'
import { DatasetError } from './errors.ts'
import { GENIMAGE_GENERATORS, generatorForArchive, isImageFileName, type Label, type Split } from '@genimage/shared/genimage'
import { decodeProblem } from '@genimage/imaging'
import { defaultImageConcurrency, forEachConcurrent } from './pool.ts'
import { silentProgress, type Progress } from './progress.ts'
import {
  appendQuarantine,
  QUARANTINE_FOLDER,
  readQuarantine,
  readState,
  TOOL_FOLDER,
  writeFileAtomic,
  writeJsonAtomic,
  type QuarantineRecord,
} from './state.ts'
import { assertDirectory } from './walk.ts'

export interface IngestOptions {
  /** Archive name → generator folder, for archives whose names the built-in map does not know. */
  generatorOverrides?: Record<string, string>
  /** Keep the joined zip of a split set after extraction (default: delete it). */
  keepJoined?: boolean
  concurrency?: number
  progress?: Progress
  signal?: AbortSignal
}

/** What `ingest` did to one archive set. */
export interface IngestArchiveReport {
  archive: string
  generator: string
  parts: number
  status: 'extracted' | 'already_ingested' | 'interrupted'
  extracted: number
  alreadyPresent: number
  quarantined: number
}

export interface IngestReport {
  root: string
  archives: IngestArchiveReport[]
  quarantined: QuarantineRecord[]
  interrupted: boolean
}

interface IngestState {
  done: Record<string, { generator: string; extracted: number; quarantined: number }>
}

/** Where an entry lands in the layout: the `{train,val}/{ai,nature}` pair anywhere in its path, then the file name. */
export function layoutPlaceOf(entryName: string): { split: Split; label: Label; fileName: string } | undefined {
  const segments = entryName.replaceAll('\\', '/').split('/').filter(Boolean)
  for (let i = 0; i + 2 < segments.length; i++) {
    const split = segments[i]!.toLowerCase()
    const label = segments[i + 1]!.toLowerCase()
    if ((split === 'train' || split === 'val') && (label === 'ai' || label === 'nature')) {
      return { split, label, fileName: segments[segments.length - 1]! }
    }
  }
  return undefined
}

function generatorFolderFor(archive: string, overrides: Record<string, string> | undefined): string {
  const override = overrides?.[archive]
  if (override) return override
  const generator = generatorForArchive(archive)
  if (!generator) {
    const known = GENIMAGE_GENERATORS.map((g) => g.folder).join(', ')
    throw new DatasetError(
      'unknown_generator_archive',
      `archive ${archive} matches no GenImage generator (${known}); name it with --map ${archive}=<Generator>`,
    )
  }
  return generator.folder
}

/**
 * Extracts every generator's (split) archive set from `downloadsDir` into `<root>/<Generator>/{train,val}/{ai,nature}`.
 * Archives with entries that would escape the target are refused before anything is written. Empty and undecodable
 * images go to `<root>/.quarantine/…` and `<root>/quarantine.jsonl` with the reason. Interrupted runs continue where
 * they stopped: finished archives are skipped, finished files are not written twice.
 */
export async function ingest(downloadsDir: string, root: string, options: IngestOptions = {}): Promise<IngestReport> {
  await assertDirectory(downloadsDir, 'downloads folder')
  const sets = await findArchiveSets(downloadsDir)
  if (sets.length === 0) throw new DatasetError('no_archives_found', `no .zip archives in ${downloadsDir}`)
  const planned = sets.map((set) => ({ set, generator: generatorFolderFor(set.name, options.generatorOverrides) }))
  await mkdir(join(root, TOOL_FOLDER), { recursive: true })
  const statePath = join(root, TOOL_FOLDER, 'ingest-state.json')
  const state = await readState<IngestState>(statePath, { done: {} })
  const progress = options.progress ?? silentProgress
  const report: IngestReport = { root, archives: [], quarantined: [], interrupted: false }

  for (const { set, generator } of planned) {
    const done = state.done[set.name]
    if (done) {
      report.archives.push({
        archive: set.name,
        generator,
        parts: set.partPaths.length + 1,
        status: 'already_ingested',
        extracted: done.extracted,
        alreadyPresent: 0,
        quarantined: done.quarantined,
      })
      continue
    }
    if (options.signal?.aborted) break
    const joinedPath = await joinSplitArchive(set, join(root, TOOL_FOLDER, `${set.name}.joined.zip`))
    const unsafe = await findUnsafeEntries(joinedPath)
    if (unsafe.length > 0) {
      const listed = unsafe.map((entry) => `'${entry.name}' (${entry.reason})`).join(', ')
      throw new DatasetError(
        'unsafe_archive_entry',
        `refusing ${set.name}: ${unsafe.length === 20 ? 'at least ' : ''}${unsafe.length} entr${unsafe.length === 1 ? 'y' : 'ies'} would escape the target: ${listed}`,
      )
    }
    const archiveReport = await extractArchive(joinedPath, set.name, generator, root, options, progress, report.quarantined)
    archiveReport.parts = set.partPaths.length + 1
    report.archives.push(archiveReport)
    if (archiveReport.status === 'interrupted') {
      report.interrupted = true
      break
    }
    state.done[set.name] = { generator, extracted: archiveReport.extracted + archiveReport.alreadyPresent, quarantined: archiveReport.quarantined }
    await writeJsonAtomic(statePath, state)
    if (joinedPath !== set.zipPath && !options.keepJoined) await rm(joinedPath, { force: true })
  }
  if (options.signal?.aborted) report.interrupted = true
  return report
}

async function sizeOf(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => undefined))?.size
}

async function extractArchive(
  zipPath: string,
  archive: string,
  generator: string,
  root: string,
  options: IngestOptions,
  progress: Progress,
  quarantined: QuarantineRecord[],
): Promise<IngestArchiveReport> {
  const report: IngestArchiveReport = { archive, generator, parts: 1, status: 'extracted', extracted: 0, alreadyPresent: 0, quarantined: 0 }
  const zipfile = await openZip(zipPath)
  progress.start(zipfile.entryCount, `ingest ${generator}`)
  const madeFolders = new Set<string>()
  // The quarantine list is short (problem files only), so an earlier run's records fit in memory.
  const alreadyListed = new Set((await readQuarantine(root)).filter((r) => r.archive === archive).map((r) => r.entry))
  const quarantine = async (record: QuarantineRecord, bytes?: Buffer) => {
    if (!alreadyListed.has(record.entry)) await appendQuarantine(root, [record])
    if (bytes && record.keptAt) {
      const keptAbs = join(root, record.keptAt)
      await mkdir(join(keptAbs, '..'), { recursive: true })
      await writeFileAtomic(keptAbs, bytes)
    }
    quarantined.push(record)
    report.quarantined++
  }
  const handle = async (entry: ArchiveEntry, place: NonNullable<ReturnType<typeof layoutPlaceOf>>, bytes: Buffer) => {
    const relPath = `${generator}/${place.split}/${place.label}/${place.fileName}`
    const problem = await decodeProblem(bytes)
    if (problem) {
      await quarantine(
        { path: relPath, reason: problem.reason, detail: problem.detail, archive, entry: entry.name, keptAt: `${QUARANTINE_FOLDER}/${relPath}` },
        bytes,
      )
      return
    }
    const folder = join(root, generator, place.split, place.label)
    if (!madeFolders.has(folder)) {
      await mkdir(folder, { recursive: true })
      madeFolders.add(folder)
    }
    await writeFileAtomic(join(folder, place.fileName), bytes)
    report.extracted++
  }
  try {
    await forEachConcurrent(
      (async function* () {
        for await (const entry of zipEntries(zipfile)) {
          progress.increment()
          if (entry.kind === 'directory') continue
          const place = layoutPlaceOf(entry.name)
          if (!place || !isImageFileName(place.fileName)) {
            await quarantine({
              path: entry.name,
              reason: 'outside_layout',
              detail: 'not an image under {train,val}/{ai,nature}; not extracted',
              archive,
              entry: entry.name,
            })
            continue
          }
          const relPath = `${generator}/${place.split}/${place.label}/${place.fileName}`
          const existing = await sizeOf(join(root, relPath))
          if (existing === entry.uncompressedSize) {
            report.alreadyPresent++
            continue
          }
          if (existing !== undefined) {
            await quarantine({
              path: relPath,
              reason: 'name_collision',
              detail: `another entry already wrote ${relPath} with ${existing} bytes`,
              archive,
              entry: entry.name,
            })
            continue
          }
          if ((await sizeOf(join(root, QUARANTINE_FOLDER, relPath))) === entry.uncompressedSize) continue
          yield { entry, place, bytes: await readEntryBytes(zipfile, entry) }
        }
      })(),
      options.concurrency ?? defaultImageConcurrency(),
      ({ entry, place, bytes }) => handle(entry, place, bytes),
      options.signal,
    )
  } finally {
    zipfile.close()
    progress.stop()
  }
  if (options.signal?.aborted) report.status = 'interrupted'
  return report
}
