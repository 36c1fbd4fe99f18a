// Benchmark: `genimage dataset merge` vs `cp -al` over the same synthetic tree. Prints the speed ratio and peak memory.
// Usage: npx tsx bench/dataset-merge.ts [files=200000]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ratioLine, timeCommand, timeWithPeakMemory, writeSyntheticTree } from './dataset-bench-util.ts'

const files = Number(process.argv[2] ?? 200_000)
const work = mkdtempSync(join(tmpdir(), 'genimage-bench-merge-'))
try {
  const root = join(work, 'root')
  console.log(`writing ${files} files…`)
  writeSyntheticTree(root, files)
  const child = fileURLToPath(new URL('./dataset-merge-run.ts', import.meta.url))
  const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url))
  const rounds = 3
  let best = { ours: Infinity, oursInside: Infinity, peer: Infinity, peakMiB: 0 }
  for (let round = 0; round < rounds; round++) {
    const peer = timeCommand('cp', ['-al', root, join(work, 'copy')]).ms
    rmSync(join(work, 'copy'), { recursive: true })
    const ours = timeWithPeakMemory(tsx, [child, root])
    const inside = JSON.parse(ours.stdout) as { ms: number; created: { hardlink: number } }
    if (inside.created.hardlink !== files) throw new Error(`merge linked ${inside.created.hardlink} of ${files} files`)
    rmSync(join(root, 'imagenet_ai'), { recursive: true })
    best = { ours: Math.min(best.ours, ours.ms), oursInside: Math.min(best.oursInside, inside.ms), peer: Math.min(best.peer, peer), peakMiB: Math.max(best.peakMiB, ours.peakMiB) }
  }
  console.log(ratioLine(`merge ${files} files (whole process, incl. Node start)`, best.ours, best.peer, 0.8))
  console.log(ratioLine(`merge ${files} files (merge() call only)`, best.oursInside, best.peer, 0.8))
  console.log(`merge peak RSS: ${best.peakMiB.toFixed(0)} MiB (target < 300 MiB) ${best.peakMiB < 300 ? 'PASS' : 'FAIL'}`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
