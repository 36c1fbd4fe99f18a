import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** Folder inside a dataset root where the tools keep their own bookkeeping (walks skip dot folders). */
export const TOOL_FOLDER = '.genimage'
/** The quarantine list every tool appends to: one JSON object per line. */
export const QUARANTINE_LIST = 'quarantine.jsonl'
/** Where quarantined files are moved, mirroring the layout. */
export const QUARANTINE_FOLDER = '.quarantine'

/** One quarantined file or archive entry and why. */
export interface QuarantineRecord {
  /** Where it would have gone, relative to the root (or the archive entry name when it had no place in the layout). */
  path: string
  reason: 'empty' | 'undecodable' | 'outside_layout' | 'name_collision'
  detail: string
  archive?: string
  entry?: string
  /** Where the bytes were kept, relative to the root, when they were kept. */
  keptAt?: string
}

/** Appends records to `<root>/quarantine.jsonl`. */
export async function appendQuarantine(root: string, records: readonly QuarantineRecord[]): Promise<void> {
  if (records.length === 0) return
  await appendFile(join(root, QUARANTINE_LIST), records.map((record) => `${JSON.stringify(record)}\n`).join(''))
}

/** Reads the quarantine list, one record per path (a re-run may have appended the same path again). */
export async function readQuarantine(root: string): Promise<QuarantineRecord[]> {
  const text = await readFile(join(root, QUARANTINE_LIST), 'utf8').catch(() => '')
  const byPath = new Map<string, QuarantineRecord>()
  for (const line of text.split('\n'))
    if (line.trim()) {
      const record = JSON.parse(line) as QuarantineRecord
      byPath.set(`${record.archive ?? ''}:${record.path}`, record)
    }
  return [...byPath.values()]
}

/** Reads a JSON state file, or `fallback` when there is none yet. */
export async function readState<T>(path: string, fallback: T): Promise<T> {
  const text = await readFile(path, 'utf8').catch(() => undefined)
  return text === undefined ? fallback : (JSON.parse(text) as T)
}

/** Writes a JSON file atomically (temporary name, then rename), so an interruption never leaves half a file. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`)
  await rename(temporary, path)
}

/** Writes bytes atomically: `<path>.partial` first, then rename, so a re-run never mistakes half a file for a done one. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.partial`
  await writeFile(temporary, bytes)
  await rename(temporary, path)
}
