// Helpers for the bench/lib-*.ts scripts, which compare a hand-written module with the npm library that could
// replace it, in one process: best-of-rounds time per call, bytes allocated per call, and a module as it was at
// a given commit (the hand-written peer once the library has replaced it).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** The last commit with the hand-written metrics and JSON log (before prom-client and pino). */
export const HAND_WRITTEN_COMMIT = 'fe125b9'

/** Imports `path` (relative to the repository root) as it was at `commit`; it must import nothing relative. */
export async function importAtCommit<T>(path: string, commit = HAND_WRITTEN_COMMIT): Promise<T> {
  const source = execFileSync('git', ['show', `${commit}:${path}`], { encoding: 'utf8', cwd: new URL('..', import.meta.url).pathname })
  const file = join(mkdtempSync(join(tmpdir(), 'genimage-lib-bench-')), path.replaceAll('/', '_'))
  writeFileSync(file, source)
  return (await import(pathToFileURL(file).href)) as T
}

/** Median time, in ms, that a fresh `node` takes to `require` (or import) `specifier` from the repository root. */
export function coldRequireMs(specifier: string, runs = 5): number {
  const script = `const t = performance.now(); import(${JSON.stringify(specifier)}).then(() => console.log(performance.now() - t))`
  const cwd = new URL('..', import.meta.url).pathname
  const times = Array.from({ length: runs }, () => Number(execFileSync(process.execPath, ['-e', script], { cwd, encoding: 'utf8' })))
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)] as number
}

/** Best of `rounds` of the mean time per call, in microseconds, over `calls` calls. */
export async function microsPerCall(fn: () => unknown, calls: number, rounds = 5): Promise<number> {
  let best = Infinity
  for (let round = 0; round < rounds; round++) {
    const started = performance.now()
    for (let i = 0; i < calls; i++) await fn()
    best = Math.min(best, ((performance.now() - started) * 1000) / calls)
  }
  return best
}

/**
 * JavaScript heap bytes allocated per call, collected or not, from V8's sampling heap profiler (a sample every
 * 256 bytes). ArrayBuffer contents live outside that heap and are not counted.
 */
export async function heapBytesPerCall(fn: () => unknown, calls: number): Promise<number> {
  const session = new Session()
  session.connect()
  try {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    })
    for (let i = 0; i < calls; i++) await fn()
    const { profile } = await session.post('HeapProfiler.stopSampling')
    let total = 0
    const walk = (node: typeof profile.head): void => {
      total += node.selfSize
      for (const child of node.children) walk(child)
    }
    walk(profile.head)
    return total / calls
  } finally {
    session.disconnect()
  }
}

/** One row: `name  first X unit  second Y unit  first/second R` (a ratio below 1: the first is smaller or faster). */
export function ratioRow(name: string, unit: string, first: [label: string, value: number], second: [label: string, value: number]): string {
  const show = (v: number) => v.toFixed(Math.abs(v) < 10 ? 2 : 0).padStart(9)
  return `${name.padEnd(40)} ${first[0]} ${show(first[1])} ${unit}  ${second[0]} ${show(second[1])} ${unit}  ${first[0]}/${second[0]} ${(first[1] / second[1]).toFixed(2)}`
}
