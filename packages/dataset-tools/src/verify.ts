import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { digest, readChecksumList, type HashAlgorithm } from './checksums.ts'
import { generatorDisplayName } from '@genimage/shared/genimage'
import { decodeProblem } from '@genimage/imaging'
import { defaultImageConcurrency, forEachConcurrent } from './pool.ts'
import { silentProgress, type Progress } from './progress.ts'
import { readQuarantine, readState, TOOL_FOLDER, writeJsonAtomic } from './state.ts'
import { assertDirectory, countImages, imagesInLeaf, listLeafFolders, type WalkOptions } from './walk.ts'

export interface VerifyOptions extends WalkOptions {
  /** Checksum lists in `md5sum` / `sha256sum` format, paths relative to the root. */
  md5List?: string
  sha256List?: string
  concurrency?: number
  progress?: Progress
  signal?: AbortSignal
  /** Start over instead of continuing an interrupted run. */
  restart?: boolean
}

/** One file that is not right. */
export interface VerifyProblem {
  path: string
  kind: 'empty' | 'undecodable' | 'md5_mismatch' | 'sha256_mismatch' | 'missing'
  detail: string
}

/** Counts for one `<generator>/<split>/<label>` folder. */
export interface VerifySubset {
  generator: string
  generatorName: string
  split: string
  label: string
  files: number
  ok: number
  problems: VerifyProblem[]
}

export interface VerifyReport {
  root: string
  files: number
  ok: number
  subsets: VerifySubset[]
  /** Listed in a checksum list but not on disk. */
  missing: VerifyProblem[]
  /** Files an earlier `ingest` quarantined (not on disk in the layout). */
  quarantinedEarlier: number
  /** Folders taken from an interrupted earlier run instead of being decoded again. */
  resumedFolders: number
  interrupted: boolean
  /** True when every file decoded, matched its checksums, and nothing listed is missing. */
  passed: boolean
}

interface VerifyState {
  fingerprint: string
  done: Record<string, VerifySubset>
}

async function checksumLists(options: VerifyOptions): Promise<[HashAlgorithm, Map<string, string>][]> {
  const lists: [HashAlgorithm, Map<string, string>][] = []
  if (options.md5List) lists.push(['md5', await readChecksumList(options.md5List, 'md5')])
  if (options.sha256List) lists.push(['sha256', await readChecksumList(options.sha256List, 'sha256')])
  return lists
}

/**
 * Decodes every image under `root` (bounded parallelism), checks optional md5/sha256 lists, and reports problems per
 * generator, split and class. Progress is saved per finished folder, so an interrupted run continues where it stopped.
 */
export async function verify(root: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  await assertDirectory(root, 'dataset root')
  const lists = await checksumLists(options)
  const statePath = join(root, TOOL_FOLDER, 'verify-state.json')
  const fingerprint = JSON.stringify([options.md5List ?? null, options.sha256List ?? null, options.generators ?? null])
  const saved = await readState<VerifyState>(statePath, { fingerprint, done: {} })
  const state: VerifyState = options.restart || saved.fingerprint !== fingerprint ? { fingerprint, done: {} } : saved
  const progress = options.progress ?? silentProgress
  const leaves = await listLeafFolders(root, options)
  progress.start(await countImages(root, options), 'verify')
  const report: VerifyReport = { root, files: 0, ok: 0, subsets: [], missing: [], quarantinedEarlier: 0, resumedFolders: 0, interrupted: false, passed: false }

  try {
    for (const leaf of leaves) {
      const finished = state.done[leaf.relDir]
      const subset: VerifySubset = finished ?? {
        generator: leaf.generator,
        generatorName: generatorDisplayName(leaf.generator),
        split: leaf.split,
        label: leaf.label,
        files: 0,
        ok: 0,
        problems: [],
      }
      if (!finished) {
        await forEachConcurrent(
          imagesInLeaf(leaf),
          options.concurrency ?? defaultImageConcurrency(),
          async (image) => {
            const bytes = await readFile(image.absPath)
            subset.files++
            const problem = await decodeProblem(bytes)
            let fine = !problem
            if (problem) subset.problems.push({ path: image.relPath, kind: problem.reason, detail: problem.detail })
            for (const [algorithm, sums] of lists) {
              const expected = sums.get(image.relPath)
              if (expected === undefined) continue
              sums.delete(image.relPath)
              const actual = digest(algorithm, bytes)
              if (actual !== expected) {
                fine = false
                subset.problems.push({ path: image.relPath, kind: `${algorithm}_mismatch`, detail: `expected ${expected}, got ${actual}` })
              }
            }
            if (fine) subset.ok++
            progress.increment()
          },
          options.signal,
        )
        if (options.signal?.aborted) {
          report.interrupted = true
          break
        }
        state.done[leaf.relDir] = subset
        await writeJsonAtomic(statePath, state)
      } else {
        report.resumedFolders++
        progress.increment(subset.files)
        for (const [, sums] of lists) for (const problem of subset.problems) sums.delete(problem.path)
      }
      report.subsets.push(subset)
      report.files += subset.files
      report.ok += subset.ok
    }
  } finally {
    progress.stop()
  }

  if (!report.interrupted) {
    for (const [algorithm, sums] of lists) {
      for (const path of sums.keys()) {
        const present = await stat(join(root, path)).then(
          () => true,
          () => false,
        )
        if (!present) report.missing.push({ path, kind: 'missing', detail: `listed in the ${algorithm} list, not on disk` })
      }
    }
  }
  // A finished run leaves no checkpoint: the next run checks everything again.
  if (!report.interrupted) await rm(statePath, { force: true })
  report.quarantinedEarlier = (await readQuarantine(root)).filter((record) => record.keptAt).length
  report.passed = !report.interrupted && report.files > 0 && report.files === report.ok && report.missing.length === 0
  return report
}
