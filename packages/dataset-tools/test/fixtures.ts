import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import sharp from 'sharp'
import { afterEach } from 'vitest'

/** A temporary folder removed by the returned cleanup. */
export async function temporaryFolder(prefix: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `genimage-${prefix}-`))
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) }
}

/** Returns `folder(prefix)` for one test file: every folder it makes is removed after each test. */
export function temporaryFolders(): (prefix: string) => Promise<string> {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })
  return async (prefix) => {
    const made = await temporaryFolder(prefix)
    cleanups.push(made.cleanup)
    return made.path
  }
}

/** Deterministic noisy RGB pixels, so encoded files have realistic sizes and differ by seed. */
export function noisePixels(width: number, height: number, seed: number): Buffer {
  const pixels = Buffer.alloc(width * height * 3)
  let state = seed * 2654435761 || 1
  for (let i = 0; i < pixels.length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    const smooth = ((i / 3) % width) + Math.floor(i / 3 / width)
    pixels[i] = (smooth + (state & 0x3f)) & 0xff
  }
  return pixels
}

export function pngOf(width: number, height: number, seed: number): Promise<Buffer> {
  return sharp(noisePixels(width, height, seed), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer()
}

export function jpegOf(width: number, height: number, seed: number, quality = 96): Promise<Buffer> {
  return sharp(noisePixels(width, height, seed), { raw: { width, height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer()
}

export async function writeAt(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, bytes)
}

/**
 * A small GenImage-layout tree: per generator, `count` images in each of train/val × ai/nature.
 * `ai` images are PNG, `nature` images are JPEG at quality 96, like GenImage.
 */
export async function writeLayoutTree(root: string, generators: Record<string, { size: number; count: number }>): Promise<number> {
  let written = 0
  let seed = 1
  for (const [generator, { size, count }] of Object.entries(generators)) {
    for (const split of ['train', 'val']) {
      for (let i = 0; i < count; i++) {
        await writeAt(join(root, generator, split, 'ai', `${split}_${i}.png`), await pngOf(size, size, seed++))
        await writeAt(join(root, generator, split, 'nature', `n${i}.JPEG`), await jpegOf(size + 8, size, seed++))
        written += 2
      }
    }
  }
  return written
}

/** Zips `folder` (relative to `cwd`) into `<zipPath>` split into parts of `splitSize` with Info-ZIP (`zip -s`). */
export function splitZip(cwd: string, folder: string, zipPath: string, splitSize = '64k'): void {
  execFileSync('zip', ['-q', '-r', '-y', '-s', splitSize, zipPath, folder], { cwd })
}

/** Writes a zip whose entries have exactly the given names (Python's zipfile lets tests create hostile names). */
export function zipWithRawNames(zipPath: string, entries: Record<string, string>): void {
  const script = 'import sys, json, zipfile\nz = zipfile.ZipFile(sys.argv[1], "w")\nfor n, d in json.loads(sys.argv[2]).items(): z.writestr(n, d)\nz.close()'
  execFileSync('python3', ['-c', script, zipPath, JSON.stringify(entries)])
}
