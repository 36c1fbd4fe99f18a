import { readdir, readFile, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { DATASET_BUILD_MARKER, DatasetBuildMarker, type DatasetGenerator, type DatasetSummary } from '@genimage/shared'
import { isImageFileName, LABELS, SPLITS } from '@genimage/shared/genimage'
import type { DatasetCatalog } from '../routes/datasets.ts'

/** The record `genimage dataset mini` writes last: its presence marks a finished GenImage-mini build. */
const MINI_MANIFEST = 'mini.json'

const isDirectory = async (path: string) => (await stat(path).catch(() => undefined))?.isDirectory() ?? false

/**
 * A {@link DatasetCatalog} over folders on this machine (DATASET_DIRS): each folder is listed when it is a
 * GenImage-layout dataset (`<Generator>/{train,val}/{ai,nature}`) or a build in progress, else its direct
 * subfolders that are. Nothing deeper and nothing outside these folders is read. Image counts are kept per class
 * folder until its modification time changes, so listing a full GenImage again costs a `stat` per folder.
 */
export function fileDatasetCatalog(dirs: readonly string[]): DatasetCatalog {
  const counts = new Map<string, { mtimeMs: number; images: number }>()

  async function imagesIn(dir: string): Promise<number> {
    const info = await stat(dir).catch(() => undefined)
    if (!info?.isDirectory()) return 0
    const known = counts.get(dir)
    if (known && known.mtimeMs === info.mtimeMs) return known.images
    const images = (await readdir(dir)).filter(isImageFileName).length
    counts.set(dir, { mtimeMs: info.mtimeMs, images })
    return images
  }

  async function generatorsOf(root: string): Promise<DatasetGenerator[]> {
    const names = (await readdir(root).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort()
    const generators: DatasetGenerator[] = []
    for (const name of names) {
      if (!(await isDirectory(join(root, name, 'train'))) && !(await isDirectory(join(root, name, 'val')))) continue
      const [train, val] = await Promise.all(
        SPLITS.map(async (split) => {
          const [ai, nature] = await Promise.all(LABELS.map((label) => imagesIn(join(root, name, split, label))))
          return { ai: ai ?? 0, nature: nature ?? 0 }
        }),
      )
      generators.push({ name, train: train!, val: val! })
    }
    return generators
  }

  async function buildMarker(root: string): Promise<DatasetBuildMarker | undefined | null> {
    const text = await readFile(join(root, DATASET_BUILD_MARKER), 'utf8').catch(() => undefined)
    if (text === undefined) return null
    try {
      return DatasetBuildMarker.parse(JSON.parse(text))
    } catch {
      // Half-written by the builder just now: still building, progress unknown.
      return undefined
    }
  }

  async function summary(root: string): Promise<DatasetSummary | undefined> {
    const [marker, generators, mini] = await Promise.all([buildMarker(root), generatorsOf(root), stat(join(root, MINI_MANIFEST)).catch(() => undefined)])
    const building = marker !== null
    if (!building && generators.length === 0) return undefined
    const images = generators.reduce((sum, g) => sum + g.train.ai + g.train.nature + g.val.ai + g.val.nature, 0)
    const kind = mini || building ? 'genimage-mini' : 'genimage-layout'
    return {
      name: basename(root),
      dataRoot: root,
      state: building ? 'building' : 'ready',
      kind,
      generators,
      images,
      ...(marker ? { build: marker } : building ? { build: { phase: 'starting', done: 0, total: 0, updatedAt: new Date().toISOString() } } : {}),
      ...(kind === 'genimage-mini'
        ? { note: 'GenImage-mini: tiny generators run on a few photos, an analogue of GenImage, not GenImage; its numbers do not compare with the paper’s' }
        : {}),
    }
  }

  return {
    async list() {
      const found = new Map<string, DatasetSummary>()
      for (const dir of dirs) {
        const itself = await summary(dir)
        if (itself) {
          found.set(itself.dataRoot, itself)
          continue
        }
        const children = (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => !e.name.startsWith('.'))
        for (const child of children) {
          const path = join(dir, child.name)
          if (!child.isDirectory() && !(child.isSymbolicLink() && (await isDirectory(path)))) continue
          const dataset = await summary(path)
          if (dataset) found.set(dataset.dataRoot, dataset)
        }
      }
      return [...found.values()].sort((a, b) => a.name.localeCompare(b.name) || a.dataRoot.localeCompare(b.dataRoot))
    },
  }
}
