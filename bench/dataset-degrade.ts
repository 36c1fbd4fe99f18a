// Benchmark: `genimage dataset degrade` (sharp) vs Pillow 9.4 (Debian python3-pil) one process per core, on the
// same PNG tree: decode → JPEG q65, and decode → Gaussian blur sigma 3 → PNG. Prints the speed ratios.
// Usage: npx tsx bench/dataset-degrade.ts [images=240] [side=512]
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import { degrade } from '../packages/dataset-tools/src/degrade.ts'
import { ratioLine, timeCommand } from './dataset-bench-util.ts'

const images = Number(process.argv[2] ?? 240)
const side = Number(process.argv[3] ?? 512)
const python = '/usr/bin/python3'
const pillow = spawnSync(python, ['-c', 'import PIL; print(PIL.__version__)'], { encoding: 'utf8' })
if (pillow.status !== 0) throw new Error('Pillow is missing: apt-get install python3-pil')
const peerScript = fileURLToPath(new URL('./dataset-degrade-pillow.py', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'genimage-bench-degrade-'))
try {
  const root = join(work, 'root')
  const pixels = Buffer.alloc(side * side * 3)
  for (let i = 0; i < images; i++) {
    for (let p = 0; p < pixels.length; p++) pixels[p] = ((p % (side * 3)) * 7 + Math.floor(p / (side * 3)) * 3 + ((p * 2654435761 + i) >>> 27)) & 0xff
    const folder = join(root, 'SD_V1.4', i % 2 ? 'val' : 'train', i % 4 < 2 ? 'ai' : 'nature')
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, `${i}.png`), await sharp(pixels, { raw: { width: side, height: side, channels: 3 } }).png().toBuffer())
  }
  console.log(`${images} PNG images of ${side}×${side}; Pillow ${pillow.stdout.trim()} in ${os()} processes; sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}`)
  const cases = [
    ['jpeg', { jpeg: 65 }, 'JPEG q65 re-encode'],
    ['blur', { blur: 3 }, 'Gaussian blur sigma 3 (PNG out, as degrade writes it)'],
    ['blurjpeg', { blur: 3, jpeg: 95 }, 'Gaussian blur sigma 3 then JPEG q95 (blur without PNG encoding)'],
  ] as const
  for (const [operation, settings, title] of cases) {
    let best = { ours: Infinity, peer: Infinity }
    for (let round = 0; round < 2; round++) {
      const peerOut = join(work, `peer-${operation}-${round}`)
      const peer = timeCommand(python, [peerScript, root, peerOut, operation]).ms
      const oursOut = join(work, `ours-${operation}-${round}`)
      const started = performance.now()
      const report = await degrade(root, oursOut, settings)
      const ours = performance.now() - started
      if (report.written !== images) throw new Error(`degrade wrote ${report.written} of ${images}`)
      rmSync(peerOut, { recursive: true })
      rmSync(oursOut, { recursive: true })
      best = { ours: Math.min(best.ours, ours), peer: Math.min(best.peer, peer) }
    }
    console.log(ratioLine(`degrade ${title}, ${images} images`, best.ours, best.peer, 1.5))
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}

function os(): number {
  return Number(spawnSync(python, ['-c', 'import os; print(os.cpu_count())'], { encoding: 'utf8' }).stdout)
}
