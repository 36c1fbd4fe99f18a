// Benchmark: the manifest's per-file work (read, sha256, header, JPEG quality) vs `sha256sum` over the same files.
// Usage: npx tsx bench/dataset-manifest-hash.ts [files=1500] [kib-per-file=200]
import { randomFillSync } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { buildManifest, describeImage } from '@genimage/dataset-tools'
import { defaultImageConcurrency, forEachConcurrent } from '@genimage/dataset-tools'
import { walkImages } from '@genimage/dataset-tools'
import { ratioLine, timeCommand } from './dataset-bench-util.ts'

const files = Number(process.argv[2] ?? 1500)
const kib = Number(process.argv[3] ?? 200)
const work = mkdtempSync(join(tmpdir(), 'genimage-bench-hash-'))
try {
  const root = join(work, 'root')
  const leaves = ['train', 'val'].flatMap((s) => ['ai', 'nature'].map((l) => join(root, 'ADM', s, l)))
  for (const leaf of leaves) mkdirSync(leaf, { recursive: true })
  const paths: string[] = []
  const body = Buffer.alloc(kib * 1024)
  // PNG signature + IHDR so the header parser does its real work; the rest is random (incompressible, like pixels).
  const header = Buffer.from('89504e470d0a1a0a0000000d4948445200000100000001000802000000', 'hex')
  for (let i = 0; i < files; i++) {
    randomFillSync(body)
    header.copy(body)
    const path = join(leaves[i % leaves.length]!, `${i}.png`)
    writeFileSync(path, body)
    paths.push(path)
  }
  const listFile = join(work, 'files.txt')
  writeFileSync(listFile, paths.join('\0'))
  const sha256sum = () => timeCommand('sh', ['-c', `xargs -0 sha256sum < '${listFile}' > /dev/null`]).ms
  const ours = async () => {
    const started = performance.now()
    await forEachConcurrent(walkImages(root), defaultImageConcurrency(), async (image) => void (await describeImage(resolve(root), image)))
    return performance.now() - started
  }
  sha256sum() // warm the page cache for both
  let best = { ours: Infinity, peer: Infinity }
  for (let round = 0; round < 3; round++) best = { peer: Math.min(best.peer, sha256sum()), ours: Math.min(best.ours, await ours()) }
  console.log(ratioLine(`manifest hashing of ${files} files × ${kib} KiB`, best.ours, best.peer, 0.8))
  const started = performance.now()
  const report = await buildManifest(root, { dbUrl: `file:${join(work, 'manifest.db')}` })
  const full = performance.now() - started
  console.log(
    `full manifest build into libSQL (${report.records} rows): ${full.toFixed(0)} ms → ${(best.peer / full).toFixed(2)}× sha256sum's speed (information)`,
  )
} finally {
  rmSync(work, { recursive: true, force: true })
}
