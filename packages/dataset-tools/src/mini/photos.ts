import { createHash } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import { DatasetError } from '../errors.ts'

/** The real photographs shipped with the package (see `photos/ATTRIBUTION.md`). */
export const DEFAULT_PHOTOS_DIR = fileURLToPath(new URL('../../photos/', import.meta.url))

/** Long side every source photo is reduced to before cropping, so user photos behave like the shipped ones. */
export const PHOTO_MAX_SIDE = 1600

/** Share of source photos that only the validation split may crop from. */
export const VAL_PHOTO_FRACTION = 0.2

const PHOTO_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff'])

/** Which source photos feed the train split and which feed the val split; the two never share a photo. */
export interface PhotoSplit {
  train: string[]
  val: string[]
}

/** Photo file names (not paths) in `dir`, sorted; throws `not_a_directory` or `empty_dataset` on unusable input. */
export async function listPhotos(dir: string): Promise<string[]> {
  const info = await stat(dir).catch(() => undefined)
  if (!info?.isDirectory()) throw new DatasetError('not_a_directory', `photos folder not found: ${dir}`)
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((entry) => entry.isFile() && PHOTO_EXTENSIONS.has(path.extname(entry.name).toLowerCase()))
    .map((entry) => entry.name)
    .sort()
  if (names.length < 2) {
    throw new DatasetError('empty_dataset', `GenImage-mini needs at least 2 photos (one for train, one for val); found ${names.length} in ${dir}`)
  }
  return names
}

/**
 * Splits photos by name, not by crop: each name is ranked by a fixed hash and the first fifth (at least one)
 * becomes the val set. The split depends only on the names, so every seed and every build of the same photo
 * folder uses the same split, and no val crop can come from a photo that trained a detector.
 */
export function splitPhotos(names: readonly string[]): PhotoSplit {
  const ranked = [...names].sort((a, b) => photoRank(a).localeCompare(photoRank(b)) || a.localeCompare(b))
  const valCount = Math.min(names.length - 1, Math.max(1, Math.round(names.length * VAL_PHOTO_FRACTION)))
  const val = new Set(ranked.slice(0, valCount))
  return { train: names.filter((n) => !val.has(n)).sort(), val: names.filter((n) => val.has(n)).sort() }
}

function photoRank(name: string): string {
  return createHash('sha256').update(`genimage-mini photo split v1:${name}`).digest('hex')
}

/** A source photo decoded to 8-bit RGB, at most `PHOTO_MAX_SIDE` on its long side. */
export interface DecodedPhoto {
  name: string
  width: number
  height: number
  pixels: Buffer
}

/**
 * Decodes photos on demand and keeps recently used ones in memory (bounded by `maxBytes`), so a build over
 * the shipped photos decodes each once and a large user folder still runs in bounded memory.
 */
export class PhotoCache {
  private readonly entries = new Map<string, Promise<DecodedPhoto>>()
  private bytes = 0

  constructor(
    private readonly dir: string,
    private readonly maxBytes = 768 * 1024 * 1024,
  ) {}

  get(name: string): Promise<DecodedPhoto> {
    const hit = this.entries.get(name)
    if (hit) {
      this.entries.delete(name)
      this.entries.set(name, hit)
      return hit
    }
    const loading = decodePhoto(path.join(this.dir, name), name).then((photo) => {
      this.bytes += photo.pixels.length
      this.evict()
      return photo
    })
    this.entries.set(name, loading)
    loading.catch(() => this.entries.delete(name))
    return loading
  }

  private evict(): void {
    for (const [name, entry] of this.entries) {
      if (this.bytes <= this.maxBytes || this.entries.size <= 1) return
      this.entries.delete(name)
      void entry.then((photo) => (this.bytes -= photo.pixels.length))
    }
  }
}

async function decodePhoto(file: string, name: string): Promise<DecodedPhoto> {
  try {
    const { data, info } = await sharp(file)
      .rotate()
      .resize(PHOTO_MAX_SIDE, PHOTO_MAX_SIDE, { fit: 'inside', withoutEnlargement: true, kernel: 'lanczos3' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true })
    return { name, width: info.width, height: info.height, pixels: data }
  } catch (error) {
    throw new DatasetError('empty_dataset', `cannot decode photo ${file}: ${(error as Error).message}`, { cause: error })
  }
}
