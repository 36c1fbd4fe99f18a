import { copyFileSync, constants, linkSync, lstatSync, mkdirSync, opendirSync, readlinkSync, statSync, symlinkSync } from 'node:fs'
import { join, resolve, sep } from 'node:path'
import { IMAGE_NAME_PATTERN, isImageFileName, MERGED_FOLDER } from '@genimage/shared/genimage'
import { canLinkInParallel, linkInParallel } from './merge-parallel.ts'
import { silentProgress, type Progress } from './progress.ts'
import { assertDirectory, countImages, listLeafFolders, type LeafFolder, type WalkOptions } from './walk.ts'

/** How merged files point at the generator folders, from best to worst. */
export type LinkMethod = 'hardlink' | 'symlink' | 'copy'

export interface MergeOptions extends WalkOptions {
  /** Link from one thread only (default: hard links spread over worker threads when there are several cores). */
  sequential?: boolean
  /** Start with this method instead of hard links (e.g. `symlink` when the merged tree must stay on another disk). */
  method?: LinkMethod
  progress?: Progress
  signal?: AbortSignal
}

export interface MergeReport {
  root: string
  merged: string
  /** Files linked or copied by this run, per method. */
  created: Record<LinkMethod, number>
  /** Files already in the merged tree from an earlier run. */
  alreadyPresent: number
  /** Names taken in the merged tree by a different file (never overwritten). */
  conflicts: { path: string; source: string }[]
  /** Why the run had to fall back from hard links, if it did. */
  fallbacks: string[]
  interrupted: boolean
}

const FALLBACK_CODES = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EMLINK', 'EOPNOTSUPP', 'EACCES'])
const FILES_BETWEEN_YIELDS = 2_000

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'UNKNOWN'
}

function sameFile(source: string, target: string, method: LinkMethod): boolean {
  const existing = lstatSync(target)
  if (existing.isSymbolicLink()) {
    const pointed = statSync(target, { throwIfNoEntry: false })
    const original = statSync(source)
    return (pointed !== undefined && pointed.ino === original.ino && pointed.dev === original.dev) || readlinkSync(target) === source
  }
  const original = statSync(source)
  if (existing.ino === original.ino && existing.dev === original.dev) return true
  return method === 'copy' && existing.size === original.size
}

/**
 * Builds `<root>/imagenet_ai/{train,val}/{ai,nature}` from every generator folder, naming each file
 * `<Generator>_<name>` so nothing collides. Uses hard links; falls back to symbolic links, then copies, and says so.
 * Running it again adds only what is missing. Directory walks stream; system calls run in synchronous batches,
 * which is what makes this as fast as `cp -al`.
 */
export async function merge(rootPath: string, options: MergeOptions = {}): Promise<MergeReport> {
  const root = resolve(rootPath)
  await assertDirectory(root, 'dataset root')
  const progress = options.progress ?? silentProgress
  const merged = join(root, MERGED_FOLDER)
  const report: MergeReport = {
    root,
    merged,
    created: { hardlink: 0, symlink: 0, copy: 0 },
    alreadyPresent: 0,
    conflicts: [],
    fallbacks: [],
    interrupted: false,
  }
  let method: LinkMethod = options.method ?? 'hardlink'
  const leaves = await listLeafFolders(root, options)
  if (progress.active) progress.start(await countImages(root, options), 'merge')

  // Symbolic links hold absolute paths: relative ones would break when imagenet_ai is itself a link elsewhere.
  const place = (source: string, target: string) => {
    while (true) {
      try {
        if (method === 'hardlink') linkSync(source, target)
        else if (method === 'symlink') symlinkSync(source, target)
        else copyFileSync(source, target, constants.COPYFILE_EXCL)
        report.created[method]++
        return
      } catch (error) {
        const code = errorCode(error)
        if (code === 'EEXIST') {
          if (sameFile(source, target, method)) report.alreadyPresent++
          else report.conflicts.push({ path: target, source })
          return
        }
        if (method === 'copy' || !FALLBACK_CODES.has(code)) throw error
        const next: LinkMethod = method === 'hardlink' ? 'symlink' : 'copy'
        report.fallbacks.push(`${method} failed with ${code} for ${source}; using ${next} from here on`)
        method = next
      }
    }
  }

  const targetPrefixOf = (leaf: LeafFolder) => `${join(merged, leaf.split, leaf.label)}${sep}${leaf.generator}_`
  let skipParallelCounts = 0
  if (method === 'hardlink' && !options.sequential && canLinkInParallel(leaves)) {
    for (const leaf of leaves) mkdirSync(join(merged, leaf.split, leaf.label), { recursive: true })
    const parallel = await linkInParallel(leaves, targetPrefixOf, IMAGE_NAME_PATTERN, progress, options.signal)
    report.created.hardlink = parallel.created
    if (parallel.interrupted || !parallel.fallback) {
      progress.stop()
      return { ...report, alreadyPresent: parallel.alreadyPresent, conflicts: parallel.conflicts, interrupted: parallel.interrupted }
    }
    report.fallbacks.push(`hardlink failed with ${parallel.fallback.code} for ${parallel.fallback.source}; using symlink from here on`)
    method = 'symlink'
    // The single-threaded pass below meets every file the workers linked again, as "already there".
    skipParallelCounts = parallel.created
  }

  try {
    let sinceYield = 0
    for (const leaf of leaves) {
      const targetDir = join(merged, leaf.split, leaf.label)
      mkdirSync(targetDir, { recursive: true })
      // Plain concatenation: path.join per file costs more than the link itself.
      const sourcePrefix = `${leaf.absDir}${sep}`
      const targetPrefix = targetPrefixOf(leaf)
      const dir = opendirSync(leaf.absDir, { bufferSize: 1024 })
      try {
        for (let entry = dir.readSync(); entry; entry = dir.readSync()) {
          if (!(entry.isFile() || entry.isSymbolicLink()) || !isImageFileName(entry.name)) continue
          place(sourcePrefix + entry.name, targetPrefix + entry.name)
          if (++sinceYield >= FILES_BETWEEN_YIELDS) {
            progress.increment(sinceYield)
            sinceYield = 0
            await new Promise((resolve) => setImmediate(resolve))
            if (options.signal?.aborted) {
              report.interrupted = true
              return report
            }
          }
        }
      } finally {
        dir.closeSync()
      }
    }
    progress.increment(sinceYield)
    report.alreadyPresent -= skipParallelCounts
  } finally {
    progress.stop()
  }
  return report
}
