import { availableParallelism } from 'node:os'
import { sep } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { Progress } from './progress.ts'
import type { LeafFolder } from './walk.ts'

/** What the hard-link workers did; `fallback` is set when hard links stopped working (the caller takes over). */
export interface ParallelLinkResult {
  created: number
  alreadyPresent: number
  conflicts: { path: string; source: string }[]
  fallback?: { code: string; source: string }
}

interface LinkJob {
  sourceDir: string
  targetPrefix: string
}

// Plain JavaScript evaluated in each worker: tsx hooks do not reach worker threads, and this loop needs nothing else.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const fs = require('node:fs')
const { jobs, imagePattern, stopFlag, reportEvery } = workerData
const isImage = new RegExp(imagePattern, 'i')
const stop = new Int32Array(stopFlag)
const result = { created: 0, alreadyPresent: 0, conflicts: [] }
let sinceReport = 0
outer: for (const job of jobs) {
  const dir = fs.opendirSync(job.sourceDir, { bufferSize: 1024 })
  try {
    for (let entry = dir.readSync(); entry; entry = dir.readSync()) {
      if (!(entry.isFile() || entry.isSymbolicLink()) || !isImage.test(entry.name)) continue
      const source = job.sourceDir + '${sep === '\\' ? '\\\\' : sep}' + entry.name
      const target = job.targetPrefix + entry.name
      try {
        fs.linkSync(source, target)
        result.created++
      } catch (error) {
        if (error.code !== 'EEXIST') { result.fallback = { code: error.code, source }; break outer }
        const a = fs.statSync(source), b = fs.statSync(target)
        if (a.ino === b.ino && a.dev === b.dev) result.alreadyPresent++
        else result.conflicts.push({ path: target, source })
      }
      if (++sinceReport >= reportEvery) {
        parentPort.postMessage({ progress: sinceReport })
        sinceReport = 0
        if (Atomics.load(stop, 0) === 1) break outer
      }
    }
  } finally {
    dir.closeSync()
  }
}
parentPort.postMessage({ progress: sinceReport, done: result })
`

/** True when spreading hard links over threads can help: several target folders and more than one core. */
export function canLinkInParallel(leaves: readonly LeafFolder[]): boolean {
  return availableParallelism() > 1 && new Set(leaves.map((leaf) => `${leaf.split}/${leaf.label}`)).size > 1
}

/**
 * Hard-links the leaves into the merged folder from worker threads, one target folder per worker at a time so
 * threads never contend for the same directory. Stops early (and says why) when a hard link fails for a reason
 * other than "already there"; the caller then continues with its fallback methods.
 */
export async function linkInParallel(
  leaves: readonly LeafFolder[],
  targetPrefixOf: (leaf: LeafFolder) => string,
  imagePattern: string,
  progress: Progress,
  signal?: AbortSignal,
): Promise<ParallelLinkResult & { interrupted: boolean }> {
  const byTarget = new Map<string, LinkJob[]>()
  for (const leaf of leaves) {
    const key = `${leaf.split}/${leaf.label}`
    byTarget.set(key, [...(byTarget.get(key) ?? []), { sourceDir: leaf.absDir, targetPrefix: targetPrefixOf(leaf) }])
  }
  const workers = Math.min(availableParallelism(), byTarget.size, 4)
  const shares: LinkJob[][] = Array.from({ length: workers }, () => [])
  ;[...byTarget.values()].forEach((jobs, i) => {
    shares[i % workers]!.push(...jobs)
  })
  const stopFlag = new SharedArrayBuffer(4)
  const stop = () => Atomics.store(new Int32Array(stopFlag), 0, 1)
  signal?.addEventListener('abort', stop, { once: true })
  try {
    const results = await Promise.all(
      shares.map(
        (jobs) =>
          new Promise<ParallelLinkResult>((resolve, reject) => {
            const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { jobs, imagePattern, stopFlag, reportEvery: 2_000 } })
            worker.on('message', (message: { progress: number; done?: ParallelLinkResult }) => {
              progress.increment(message.progress)
              if (message.done) resolve(message.done)
            })
            worker.on('error', reject)
            worker.on('exit', (code) => code !== 0 && reject(new Error(`merge worker exited with ${code}`)))
          }),
      ),
    )
    return {
      created: results.reduce((sum, r) => sum + r.created, 0),
      alreadyPresent: results.reduce((sum, r) => sum + r.alreadyPresent, 0),
      conflicts: results.flatMap((r) => r.conflicts),
      fallback: results.find((r) => r.fallback)?.fallback,
      interrupted: Boolean(signal?.aborted),
    }
  } finally {
    signal?.removeEventListener('abort', stop)
  }
}
