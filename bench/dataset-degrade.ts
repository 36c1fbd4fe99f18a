// Benchmark: `genimage dataset degrade` vs Pillow 9.4 (Debian python3-pil) one process per core, on the same PNG
// trees: decode → JPEG q65 (native libdeflate + libjpeg-turbo path when built, and sharp alone), decode → Gaussian
// blur sigma 3 → PNG, and blur → JPEG q95. Two trees: synthetic pixels written by sharp (filter type 0), and
// 512² crops of the shipped photos written by Pillow's default PNG save, like GenImage's own PNGs.
// Usage: npx tsx bench/dataset-degrade.ts [images=240] [side=512]
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import type { DegradationSteps } from '@genimage/shared/genimage'
import { degrade } from '@genimage/dataset-tools'
import { nativePngJpeg } from '@genimage/imaging'
import { ratioLine, timeWithPeakMemory } from './dataset-bench-util.ts'

const images = Number(process.argv[2] ?? 240)
const side = Number(process.argv[3] ?? 512)
const python = '/usr/bin/python3'
const pillow = spawnSync(python, ['-c', 'import PIL; print(PIL.__version__)'], { encoding: 'utf8' })
if (pillow.status !== 0) throw new Error('Pillow is missing: apt-get install python3-pil')
const peerScript = fileURLToPath(new URL('./dataset-degrade-pillow.py', import.meta.url))
const photos = fileURLToPath(new URL('../packages/dataset-tools/photos/', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'genimage-bench-degrade-'))

function leafOf(root: string, i: number): string {
  const folder = join(root, 'SD_V1.4', i % 2 ? 'val' : 'train', i % 4 < 2 ? 'ai' : 'nature')
  mkdirSync(folder, { recursive: true })
  return folder
}

async function writeSyntheticTree(root: string): Promise<void> {
  const pixels = Buffer.alloc(side * side * 3)
  for (let i = 0; i < images; i++) {
    for (let p = 0; p < pixels.length; p++) pixels[p] = ((p % (side * 3)) * 7 + Math.floor(p / (side * 3)) * 3 + ((p * 2654435761 + i) >>> 27)) & 0xff
    writeFileSync(
      join(leafOf(root, i), `${i}.png`),
      await sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
        .png()
        .toBuffer(),
    )
  }
}

/** Crops of the shipped photos at several positions, saved by Pillow with its defaults (zlib level 6, adaptive filters). */
function writePhotoTree(root: string): void {
  const sources = readdirSync(photos)
    .filter((name) => name.endsWith('.jpg'))
    .sort()
  const jobs = Array.from({ length: images }, (_, i) => [
    join(photos, sources[i % sources.length]!),
    Math.floor(i / sources.length),
    join(leafOf(root, i), `${i}.png`),
  ])
  const script = `
import json, sys
from PIL import Image
spots = [(0, 0), (1, 1), (0.5, 0.5), (1, 0), (0, 1), (0.25, 0.75), (0.75, 0.25), (0.5, 0)]
for source, spot, target in json.load(sys.stdin):
    with Image.open(source) as image:
        image = image.convert("RGB")
        fx, fy = spots[spot % len(spots)]
        x, y = int((image.width - ${side}) * fx), int((image.height - ${side}) * fy)
        image.crop((x, y, x + ${side}, y + ${side})).save(target, "PNG")
`
  const made = spawnSync(python, ['-c', script], { input: JSON.stringify(jobs), encoding: 'utf8' })
  if (made.status !== 0) throw new Error(`writing photo crops failed: ${made.stderr}`)
}

function meanBytes(root: string): number {
  const files = ['train', 'val'].flatMap((s) =>
    ['ai', 'nature'].flatMap((l) => readdirSync(join(root, 'SD_V1.4', s, l)).map((n) => join(root, 'SD_V1.4', s, l, n))),
  )
  return files.reduce((sum, file) => sum + statSync(file).size, 0) / files.length
}

/** Wall and CPU (user + system, all threads) milliseconds of one degrade run in this process. */
async function timeDegrade(root: string, out: string, settings: DegradationSteps, sharpOnly: boolean): Promise<{ ms: number; cpuMs: number }> {
  if (sharpOnly) process.env.GENIMAGE_PNG_JPEG = 'sharp'
  try {
    const started = performance.now()
    const cpu = process.cpuUsage()
    const report = await degrade(root, out, settings)
    const ms = performance.now() - started
    const used = process.cpuUsage(cpu)
    if (report.written !== images) throw new Error(`degrade wrote ${report.written} of ${images}: ${JSON.stringify(report.failed.slice(0, 3))}`)
    return { ms, cpuMs: (used.user + used.system) / 1000 }
  } finally {
    delete process.env.GENIMAGE_PNG_JPEG
  }
}

// [peer operation, settings, sharp only, rounds (best of), title]: short cases get more rounds on a shared machine.
const cases = [
  ['jpeg', { jpeg: 65 }, false, 5, 'JPEG q65 re-encode'],
  ['jpeg', { jpeg: 65 }, true, 3, 'JPEG q65 re-encode, sharp alone (GENIMAGE_PNG_JPEG=sharp)'],
  ['blur', { blur: 3 }, false, 2, 'Gaussian blur sigma 3 (PNG out, as degrade writes it)'],
  ['blurjpeg', { blur: 3, jpeg: 95 }, false, 2, 'Gaussian blur sigma 3 then JPEG q95 (blur without PNG encoding)'],
] as const

try {
  const trees = [
    ['synthetic (sharp-written, filter 0)', join(work, 'synthetic')],
    ['photo crops (Pillow-written, adaptive filters)', join(work, 'photos')],
  ] as const
  await writeSyntheticTree(trees[0][1])
  writePhotoTree(trees[1][1])
  console.log(
    `${images} PNG images of ${side}×${side} per tree; Pillow ${pillow.stdout.trim()} in ${cpuCount()} processes; sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}`,
  )
  console.log(
    `PNG → JPEG: ${nativePngJpeg().reason}; load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )
  const empty = join(work, 'empty')
  leafOf(empty, 0)
  const startUp = timeWithPeakMemory(python, [peerScript, empty, join(work, 'empty-out'), 'jpeg'])
  console.log(
    `Pillow's fixed cost (start-up and pool, no images): wall ${startUp.ms.toFixed(0)} ms, CPU ${startUp.cpuMs.toFixed(0)} ms; included in its times below`,
  )
  for (const [treeName, root] of trees) {
    console.log(`\n${treeName}: mean ${(meanBytes(root) / 1024).toFixed(0)} KiB per PNG`)
    for (const [operation, settings, sharpOnly, rounds, title] of cases) {
      const best = { ours: Infinity, peer: Infinity, oursCpu: Infinity, peerCpu: Infinity }
      for (let round = 0; round < rounds; round++) {
        const peerOut = join(work, `peer-${operation}-${round}`)
        const peer = timeWithPeakMemory(python, [peerScript, root, peerOut, operation])
        const oursOut = join(work, `ours-${operation}-${round}`)
        const ours = await timeDegrade(root, oursOut, settings, sharpOnly)
        rmSync(peerOut, { recursive: true })
        rmSync(oursOut, { recursive: true })
        best.ours = Math.min(best.ours, ours.ms)
        best.peer = Math.min(best.peer, peer.ms)
        best.oursCpu = Math.min(best.oursCpu, ours.cpuMs)
        best.peerCpu = Math.min(best.peerCpu, peer.cpuMs)
      }
      const perImage = (ms: number) => (ms / images).toFixed(2)
      console.log(`${ratioLine(`degrade ${title}, ${images} images`, best.ours, best.peer, 1.5)}`)
      console.log(
        `  per image: wall ${perImage(best.ours)} vs ${perImage(best.peer)} ms; CPU ${perImage(best.oursCpu)} vs ${perImage(best.peerCpu)} ms (CPU ratio ${(best.peerCpu / best.oursCpu).toFixed(2)}×, best of ${rounds})`,
      )
    }
  }
  console.log(
    `\nload average at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )
} finally {
  rmSync(work, { recursive: true, force: true })
}

function cpuCount(): number {
  return Number(spawnSync(python, ['-c', 'import os; print(os.cpu_count())'], { encoding: 'utf8' }).stdout)
}
