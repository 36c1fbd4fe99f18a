import { opendir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { DatasetError } from './errors.ts'
import { isImageFileName, LABELS, MERGED_FOLDER, SPLITS, type Label, type Split } from '@genimage/shared/genimage'

/** One image in a GenImage-layout tree. */
export interface LayoutImage {
  generator: string
  split: Split
  label: Label
  /** File name inside its leaf folder. */
  name: string
  /** Path relative to the root, with `/` separators. */
  relPath: string
  absPath: string
}

/** One `<generator>/<split>/<label>` folder. */
export interface LeafFolder {
  generator: string
  split: Split
  label: Label
  relDir: string
  absDir: string
}

export interface WalkOptions {
  /** Include the merged `imagenet_ai` folder as if it were a generator (default false). */
  includeMerged?: boolean
  /** Only these generator folders. */
  generators?: readonly string[]
}

/** Fails with `not_a_directory` unless `path` is a folder. */
export async function assertDirectory(path: string, what: string): Promise<void> {
  const info = await stat(path).catch(() => undefined)
  if (!info?.isDirectory()) throw new DatasetError('not_a_directory', `${what} is not a directory: ${path}`)
}

async function* subdirectoryNames(path: string): AsyncGenerator<string> {
  const dir = await opendir(path).catch(() => undefined)
  if (!dir) return
  for await (const entry of dir) if (entry.isDirectory() && !entry.name.startsWith('.')) yield entry.name
}

/**
 * Leaf folders of a GenImage-layout root, sorted by generator, split, label.
 * Only generator names are collected (a handful); files are never listed here.
 */
export async function listLeafFolders(root: string, options: WalkOptions = {}): Promise<LeafFolder[]> {
  const generators: string[] = []
  for await (const name of subdirectoryNames(root)) {
    if (name === MERGED_FOLDER && !options.includeMerged) continue
    if (options.generators && !options.generators.includes(name)) continue
    generators.push(name)
  }
  generators.sort()
  const leaves: LeafFolder[] = []
  for (const generator of generators) {
    const base = join(root, generator)
    for (const split of SPLITS) {
      for (const label of LABELS) {
        const absDir = join(base, split, label)
        const info = await stat(absDir).catch(() => undefined)
        if (info?.isDirectory()) leaves.push({ generator, split, label, relDir: `${generator}/${split}/${label}`, absDir })
      }
    }
  }
  return leaves
}

/** Streams the images of one leaf folder straight from `opendir`; nothing is collected. */
export async function* imagesInLeaf(leaf: LeafFolder): AsyncGenerator<LayoutImage> {
  const dir = await opendir(leaf.absDir, { bufferSize: 256 })
  for await (const entry of dir) {
    if (!(entry.isFile() || entry.isSymbolicLink()) || !isImageFileName(entry.name)) continue
    yield {
      generator: leaf.generator,
      split: leaf.split,
      label: leaf.label,
      name: entry.name,
      relPath: `${leaf.relDir}/${entry.name}`,
      absPath: join(leaf.absDir, entry.name),
    }
  }
}

/** Streams every image of a GenImage-layout root, leaf folder by leaf folder. */
export async function* walkImages(root: string, options: WalkOptions = {}): AsyncGenerator<LayoutImage> {
  for (const leaf of await listLeafFolders(root, options)) yield* imagesInLeaf(leaf)
}

/** Counts images without keeping their names (used to size progress bars). */
export async function countImages(root: string, options: WalkOptions = {}): Promise<number> {
  let count = 0
  for await (const _ of walkImages(root, options)) count++
  return count
}

/** Groups an async stream into arrays of at most `size` items. */
export async function* chunked<T>(source: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = []
  for await (const item of source) {
    chunk.push(item)
    if (chunk.length >= size) {
      yield chunk
      chunk = []
    }
  }
  if (chunk.length > 0) yield chunk
}
