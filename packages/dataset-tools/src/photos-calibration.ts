import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { DatasetError } from './errors.ts'

/**
 * Real photographs kept for calibration only: `calibration` photos fit a detector's threshold and temperature,
 * `test` photos only report its false-positive rate. None of them may feed GenImage-mini or any training run
 * (a test checks they share no file or source path with `photos/ATTRIBUTION.json`).
 */
export type CalibrationSplit = 'calibration' | 'test'

/** One full-size photograph inside a Debian package, as `photos-calibration.json` lists it. */
export interface CalibrationPhoto {
  /** File name written by `genimage dataset photos fetch`. */
  name: string
  /** Debian binary package and the version the sha256 was taken from. */
  package: string
  version: string
  /** Path of the file inside the package (no leading `./`). */
  path: string
  /** sha256 of the file as the package ships it; the fetch refuses anything else. */
  sha256: string
  bytes: number
  author: string
  /** Licence as the package's `/usr/share/doc/<package>/copyright` (and the upstream note it names) states it. */
  licence: string
  width: number
  height: number
  /** Encoding as shipped (`jpeg`, `png`); the fetch never re-encodes. */
  format: string
  split: CalibrationSplit
}

/** The whole of `photos-calibration.json`. */
export interface CalibrationManifest {
  description: string
  /** Debian suites the versions were taken from. */
  suites: string[]
  photos: CalibrationPhoto[]
}

/** The manifest shipped with the package. */
export const CALIBRATION_MANIFEST_FILE = fileURLToPath(new URL('../photos-calibration.json', import.meta.url))

/** Share of each package's photos that goes to `calibration`; the rest is `test`. */
export const CALIBRATION_FRACTION = 0.5

/**
 * Assigns each photo to `calibration` or `test`. Within each package the names are ranked by a fixed hash and the
 * first half (rounded up) is `calibration`, so both splits see every source and the split depends only on the names.
 */
export function splitCalibrationPhotos(photos: ReadonlyArray<{ name: string; package: string }>): Map<string, CalibrationSplit> {
  const byPackage = new Map<string, string[]>()
  for (const photo of photos) byPackage.set(photo.package, [...(byPackage.get(photo.package) ?? []), photo.name])
  const split = new Map<string, CalibrationSplit>()
  for (const names of byPackage.values()) {
    const ranked = [...names].sort((a, b) => calibrationRank(a).localeCompare(calibrationRank(b)) || a.localeCompare(b))
    const calibrationCount = Math.ceil(ranked.length * CALIBRATION_FRACTION)
    for (const [index, name] of ranked.entries()) split.set(name, index < calibrationCount ? 'calibration' : 'test')
  }
  return split
}

function calibrationRank(name: string): string {
  return createHash('sha256').update(`genimage calibration photo split v1:${name}`).digest('hex')
}

/** Reads and checks a calibration manifest; throws `bad_checksum_list` naming the entry at fault. */
export async function loadCalibrationManifest(file = CALIBRATION_MANIFEST_FILE): Promise<CalibrationManifest> {
  const text = await readFile(file, 'utf8').catch((error: Error) => {
    throw new DatasetError('bad_checksum_list', `cannot read calibration manifest ${file}: ${error.message}`, { cause: error })
  })
  const manifest = JSON.parse(text) as CalibrationManifest
  if (!Array.isArray(manifest.photos)) throw new DatasetError('bad_checksum_list', `${file} has no "photos" list`)
  const names = new Set<string>()
  for (const photo of manifest.photos) {
    const where = `${file}: ${photo.name ?? '(no name)'}`
    if (!photo.name || /[/\\]/.test(photo.name) || photo.name.startsWith('.')) throw new DatasetError('bad_checksum_list', `${where}: bad file name`)
    if (names.has(photo.name)) throw new DatasetError('bad_checksum_list', `${where}: listed twice`)
    names.add(photo.name)
    if (!photo.package || !photo.version || !photo.path) throw new DatasetError('bad_checksum_list', `${where}: package, version and path are required`)
    if (photo.path.startsWith('/') || photo.path.split('/').includes('..')) throw new DatasetError('bad_checksum_list', `${where}: unsafe path ${photo.path}`)
    if (!/^[0-9a-f]{64}$/.test(photo.sha256)) throw new DatasetError('bad_checksum_list', `${where}: sha256 must be 64 hex digits`)
    if (photo.split !== 'calibration' && photo.split !== 'test') throw new DatasetError('bad_checksum_list', `${where}: split must be calibration or test`)
  }
  return manifest
}

/** `ATTRIBUTION.md` for a folder of fetched calibration photos. */
export function calibrationAttributionMarkdown(manifest: CalibrationManifest, photos: readonly CalibrationPhoto[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|')
  const rows = photos.map(
    (p) =>
      `| ${p.name} | ${p.split} | ${p.width}×${p.height} ${p.format} | ${p.package} ${p.version} | \`${p.path}\` | ${cell(p.author)} | ${cell(p.licence)} |`,
  )
  return `# Real photographs for calibration (not for training)

${manifest.description}

Each file is the package's own file, byte for byte (sha256 checked), at full size and in its original encoding.
Licence texts: \`/usr/share/doc/<package>/copyright\` in each package and \`/usr/share/common-licenses/\` on Debian.
Split: \`calibration\` photos fit thresholds and temperatures; \`test\` photos only report false-positive rates.
No photo here may be used to train a model or to build GenImage-mini.

| file | split | size | source package | path in package | author | licence |
|---|---|---|---|---|---|---|
${rows.join('\n')}
`
}
