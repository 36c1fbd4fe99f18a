import { readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { ModelTask } from '@genimage/shared'
import { createDb, type ManifestImage, manifestImagesOf } from '@genimage/shared/db'
import { isImageFileName } from '@genimage/shared/genimage'

/** Why training data could not be used; `code` is stable for callers and the job system. */
export class TrainingDataError extends Error {
  override name = 'TrainingDataError'
  constructor(
    readonly code: 'not_a_directory' | 'unknown_generator' | 'empty_split' | 'corrupt_image' | 'empty_manifest',
    message: string,
  ) {
    super(message)
  }
}

export interface LabelledImage {
  path: string
  generator: string
  /** 'ai' or 'nature', from the folder. */
  kind: 'ai' | 'nature'
  /** Index into the head's labels. */
  label: number
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false
}

async function imageFiles(dir: string): Promise<string[]> {
  if (!(await isDirectory(dir))) return []
  const names = (await readdir(dir)).filter(isImageFileName)
  return names.sort().map((name) => join(dir, name))
}

/** Generator folders of a GenImage-layout root (`<Generator>/{train,val}/{ai,nature}`), sorted. */
export async function listGenerators(root: string): Promise<string[]> {
  if (!(await isDirectory(root))) throw new TrainingDataError('not_a_directory', `dataset root is not a directory: ${root}`)
  const names: string[] = []
  for (const name of (await readdir(root)).sort()) {
    if (name.startsWith('.')) continue
    if ((await isDirectory(join(root, name, 'train'))) || (await isDirectory(join(root, name, 'val')))) names.push(name)
  }
  return names
}

/** Labels an image by task: binary → 0 nature / 1 ai; attribution → 0 nature / 1 + index of its generator. */
export function labelFor(task: ModelTask, kind: 'ai' | 'nature', generator: string, generators: readonly string[]): number {
  if (kind === 'nature') return 0
  if (task === 'binary') return 1
  const index = generators.indexOf(generator)
  if (index < 0) throw new TrainingDataError('unknown_generator', `generator ${generator} is not one of the head's: ${generators.join(', ')}`)
  return index + 1
}

export interface SplitRequest {
  root: string
  split: 'train' | 'val'
  generators: readonly string[]
  task: ModelTask
  /** Generators of an attribution head, in label order. */
  headGenerators: readonly string[]
  /** Keep at most this many images per generator and class (first by file name). */
  limitPerClass?: number
  /**
   * libSQL URL of a manifest made by `genimage dataset manifest` (table `manifest_images`, dataset = the absolute
   * root): the images come from its rows instead of listing folders, and files it recorded as unreadable are skipped.
   */
  manifestUrl?: string
}

async function readManifestRows(url: string, root: string): Promise<ManifestImage[]> {
  const db = await createDb(url, { migrate: false })
  try {
    return await manifestImagesOf(db, resolve(root))
  } finally {
    db.$client.close()
  }
}

async function filesFromManifest(request: SplitRequest): Promise<{ known: string[]; files: (generator: string, kind: string) => Promise<string[]> }> {
  const rows = await readManifestRows(request.manifestUrl!, request.root)
  if (rows.length === 0) throw new TrainingDataError('empty_manifest', `the manifest at ${request.manifestUrl} has no images for ${resolve(request.root)}`)
  const known = [...new Set(rows.map((row) => row.generator))].sort()
  return {
    known,
    files: async (generator, kind) =>
      rows
        .filter((row) => row.generator === generator && row.split === request.split && row.label === kind && row.format !== 'unknown')
        .map((row) => join(request.root, row.path)),
  }
}

/** Lists the images of one split, sorted by generator, class and file name (a stable order for seeding). */
export async function loadSplit(request: SplitRequest): Promise<LabelledImage[]> {
  const source = request.manifestUrl
    ? await filesFromManifest(request)
    : { known: await listGenerators(request.root), files: (generator: string, kind: string) => imageFiles(join(request.root, generator, request.split, kind)) }
  const known = source.known
  const images: LabelledImage[] = []
  for (const generator of request.generators) {
    if (!known.includes(generator)) {
      throw new TrainingDataError('unknown_generator', `no generator "${generator}" under ${request.root}; found: ${known.join(', ') || 'none'}`)
    }
    for (const kind of ['nature', 'ai'] as const) {
      let files = await source.files(generator, kind)
      if (request.limitPerClass !== undefined) files = files.slice(0, request.limitPerClass)
      if (files.length === 0) {
        throw new TrainingDataError('empty_split', `no images in ${join(request.root, generator, request.split, kind)}`)
      }
      const label = labelFor(request.task, kind, generator, request.headGenerators)
      for (const path of files) images.push({ path, generator, kind, label })
    }
  }
  return images
}
