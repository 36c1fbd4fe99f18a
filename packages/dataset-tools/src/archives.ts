/// <reference path="./yauzl.d.ts" />
import { execFile } from 'node:child_process'
import { opendir, rename, rm, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import yauzl, { type Entry, type ZipFile } from 'yauzl'
import { DatasetError } from './errors.ts'

const execFileAsync = promisify(execFile)

/** A download archive: `name.zip`, plus `name.z01 … name.zNN` when it was split. */
export interface ArchiveSet {
  name: string
  zipPath: string
  partPaths: string[]
  totalBytes: number
}

/** Finds every archive set in a downloads folder; fails with `incomplete_split_archive` when a part is missing. */
export async function findArchiveSets(downloadsDir: string): Promise<ArchiveSet[]> {
  const zips = new Map<string, string>()
  const parts = new Map<string, Map<number, string>>()
  for await (const entry of await opendir(downloadsDir)) {
    if (!entry.isFile()) continue
    const match = /^(.+)\.(zip|z(\d{2,}))$/i.exec(entry.name)
    if (!match) continue
    const [, name, extension, partNumber] = match as unknown as [string, string, string, string | undefined]
    if (extension.toLowerCase() === 'zip') zips.set(name, join(downloadsDir, entry.name))
    else {
      const byNumber = parts.get(name) ?? new Map<number, string>()
      byNumber.set(Number(partNumber), join(downloadsDir, entry.name))
      parts.set(name, byNumber)
    }
  }
  for (const name of parts.keys()) {
    if (!zips.has(name)) throw new DatasetError('incomplete_split_archive', `${name}: parts found but ${name}.zip (the last part) is missing`)
  }
  const sets: ArchiveSet[] = []
  for (const [name, zipPath] of [...zips].sort(([a], [b]) => a.localeCompare(b))) {
    const byNumber = parts.get(name) ?? new Map<number, string>()
    const partPaths: string[] = []
    for (let n = 1; n <= byNumber.size; n++) {
      const part = byNumber.get(n)
      if (!part) throw new DatasetError('incomplete_split_archive', `${name}: part .z${String(n).padStart(2, '0')} is missing`)
      partPaths.push(part)
    }
    let totalBytes = (await stat(zipPath)).size
    for (const part of partPaths) totalBytes += (await stat(part)).size
    sets.push({ name, zipPath, partPaths, totalBytes })
  }
  return sets
}

/**
 * Joins a split set into one zip with Info-ZIP's `zip -s 0 … --out` (Debian package `zip`).
 * Writes beside `outPath` under a temporary name and renames at the end, so an interrupted join is redone, not trusted.
 */
export async function joinSplitArchive(set: ArchiveSet, outPath: string): Promise<string> {
  if (set.partPaths.length === 0) return set.zipPath
  if (
    await stat(outPath).then(
      () => true,
      () => false,
    )
  )
    return outPath
  const temporary = `${outPath.slice(0, -'.zip'.length)}.joining.zip`
  await rm(temporary, { force: true })
  try {
    await execFileAsync('zip', ['-q', '-s', '0', set.zipPath, '--out', temporary], { maxBuffer: 16 * 1024 * 1024 })
  } catch (error) {
    await rm(temporary, { force: true })
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT'
    throw new DatasetError(
      'join_failed',
      missing
        ? 'joining split archives needs Info-ZIP zip (Debian: apt-get install zip)'
        : `could not join ${basename(set.zipPath)} and its ${set.partPaths.length} parts: ${(error as Error).message}`,
      { cause: error },
    )
  }
  await rename(temporary, outPath)
  return outPath
}

/** An archive entry with its decoded name and what kind of thing it is. */
export interface ArchiveEntry {
  name: string
  kind: 'file' | 'directory' | 'symlink'
  uncompressedSize: number
  raw: Entry
}

const S_IFMT = 0o170000
const S_IFLNK = 0o120000

/** Why an entry name would land outside the target folder, or undefined when it is safe. */
export function unsafeEntryReason(entry: Pick<ArchiveEntry, 'name' | 'kind'>): string | undefined {
  if (entry.kind === 'symlink') return 'is a symbolic link'
  const name = entry.name.replaceAll('\\', '/')
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'is an absolute path'
  if (name.split('/').includes('..')) return 'climbs out of the target with ..'
  if (name.includes('\0')) return 'contains a NUL byte'
  return undefined
}

/** Opens a (joined) zip for lazy, one-entry-at-a-time reading. */
export async function openZip(path: string): Promise<ZipFile> {
  return await new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true }, (error, zipfile) =>
      error ? reject(error) : resolve(zipfile),
    )
  })
}

/** Streams the entries of an open zip, reading the central directory one record at a time. */
export async function* zipEntries(zipfile: ZipFile): AsyncGenerator<ArchiveEntry> {
  while (true) {
    const raw = await new Promise<Entry | undefined>((resolve, reject) => {
      const onEntry = (entry: Entry) => settle(() => resolve(entry))
      const onEnd = () => settle(() => resolve(undefined))
      const onError = (error: Error) => settle(() => reject(error))
      const settle = (done: () => void) => {
        zipfile.off('entry', onEntry).off('end', onEnd).off('error', onError)
        done()
      }
      zipfile.on('entry', onEntry).on('end', onEnd).on('error', onError)
      zipfile.readEntry()
    })
    if (!raw) return
    const name = yauzl.getFileNameLowLevel(raw.generalPurposeBitFlag, raw.fileNameRaw, raw.extraFields, false)
    const mode = (raw.externalFileAttributes >>> 16) & S_IFMT
    const kind = mode === S_IFLNK ? 'symlink' : name.endsWith('/') ? 'directory' : 'file'
    yield { name, kind, uncompressedSize: raw.uncompressedSize, raw }
  }
}

/** Reads one entry's bytes into memory (entries are single images, so this is small). */
export async function readEntryBytes(zipfile: ZipFile, entry: ArchiveEntry): Promise<Buffer> {
  const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
    zipfile.openReadStream(entry.raw, (error, readable) => (error ? reject(error) : resolve(readable))),
  )
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Lists the unsafe entries of a zip (at most `limit`), reading its directory once. */
export async function findUnsafeEntries(zipPath: string, limit = 20): Promise<{ name: string; reason: string }[]> {
  const zipfile = await openZip(zipPath)
  const unsafe: { name: string; reason: string }[] = []
  try {
    for await (const entry of zipEntries(zipfile)) {
      const reason = unsafeEntryReason(entry)
      if (reason) unsafe.push({ name: entry.name, reason })
      if (unsafe.length >= limit) break
    }
  } finally {
    zipfile.close()
  }
  return unsafe
}
