import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CalibrationManifest,
  type CalibrationPhoto,
  DatasetError,
  type DebDownloader,
  fetchCalibrationPhotos,
  loadCalibrationManifest,
  splitCalibrationPhotos,
} from '../src/index.ts'
import { DEFAULT_PHOTOS_DIR } from '../src/mini/photos.ts'

let work: string
let debs: string
let images: { name: string; path: string; bytes: Buffer }[]
const noDownload: DebDownloader = async () => {
  throw new Error('the network must not be used here')
}
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

/** Builds `test-photos_<version>_all.deb` holding the two test images, with dpkg-deb. */
function buildDeb(version: string, into: string): string {
  const root = path.join(work, `pkg-${version}`)
  execFileSync('mkdir', ['-p', path.join(root, 'DEBIAN'), path.join(root, 'usr/share/test-photos')])
  execFileSync(
    'sh',
    ['-c', `printf 'Package: test-photos\\nVersion: ${version}\\nArchitecture: all\\nMaintainer: t <t@example.org>\\nDescription: t\\n' > DEBIAN/control`],
    { cwd: root },
  )
  for (const image of images) execFileSync('sh', ['-c', 'cat > "$0"', path.join(root, image.path)], { input: image.bytes })
  const deb = path.join(into, `test-photos_${version.replace(':', '%3a')}_all.deb`)
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', root, deb], { stdio: 'ignore' })
  return deb
}

function manifestOf(overrides: Partial<Record<string, Partial<CalibrationPhoto>>> = {}): CalibrationManifest {
  const photos = images.map((image) => ({
    name: image.name,
    package: 'test-photos',
    version: '1:1.0-1',
    path: image.path,
    sha256: sha256(image.bytes),
    bytes: image.bytes.length,
    author: 'A. Photographer',
    licence: 'CC0-1.0',
    width: 48,
    height: 32,
    format: image.name.endsWith('.png') ? 'png' : 'jpeg',
    split: 'calibration' as const,
    ...overrides[image.name],
  }))
  return { description: 'test photos', suites: ['bookworm'], photos }
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'genimage-photos-fetch-'))
  debs = path.join(work, 'debs')
  await mkdir(debs)
  const noise = (seed: number) => Buffer.from(Array.from({ length: 48 * 32 * 3 }, (_, i) => (i * 37 + seed * 101) % 256))
  const raw = { raw: { width: 48, height: 32, channels: 3 as const } }
  images = [
    { name: 'one.jpg', path: 'usr/share/test-photos/one.jpg', bytes: await sharp(noise(1), raw).jpeg({ quality: 90 }).toBuffer() },
    { name: 'two.png', path: 'usr/share/test-photos/two.png', bytes: await sharp(noise(2), raw).png().toBuffer() },
  ]
  buildDeb('1:1.0-1', debs)
})
afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

describe('fetchCalibrationPhotos', () => {
  it('extracts the listed files from a cached .deb byte for byte, with attribution, without the network', async () => {
    const out = path.join(work, 'out-cache')
    const lines: string[] = []
    const report = await fetchCalibrationPhotos(out, { manifest: manifestOf(), debs, offline: true, download: noDownload, log: (l) => lines.push(l) })
    expect(report.written.sort()).toEqual(['one.jpg', 'two.png'])
    expect(report.packages).toEqual([{ package: 'test-photos', requested: '1:1.0-1', used: '1:1.0-1', from: 'cache' }])
    for (const image of images) expect(await readFile(path.join(out, image.name))).toEqual(image.bytes)
    const attribution = await readFile(path.join(out, 'ATTRIBUTION.md'), 'utf8')
    expect(attribution).toContain('| one.jpg | calibration | 48×32 jpeg | test-photos 1:1.0-1 | `usr/share/test-photos/one.jpg` | A. Photographer | CC0-1.0 |')
    expect((await readdir(out)).filter((n) => n.startsWith('.'))).toEqual([])
    expect(lines.join('\n')).toMatch(/\[1\/1\] test-photos 1:1\.0-1: 2 file\(s\) extracted, 2 verified/)
  })

  it('refuses a file whose sha256 differs, naming it, and keeps only the verified ones', async () => {
    const out = path.join(work, 'out-mismatch')
    const manifest = manifestOf({ 'two.png': { sha256: 'f'.repeat(64) } })
    const failure = await fetchCalibrationPhotos(out, { manifest, debs, offline: true, log: () => {} }).catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(DatasetError)
    expect((failure as DatasetError).code).toBe('checksum_mismatch')
    expect((failure as DatasetError).message).toContain(`two.png (test-photos 1:1.0-1: usr/share/test-photos/two.png): expected sha256 ${'f'.repeat(64)}`)
    expect((await readdir(out)).sort()).toEqual(['ATTRIBUTION.md', 'one.jpg', 'photos-calibration.json'])
  })

  it('resumes: verified photos are kept without any .deb, a damaged one is extracted again', async () => {
    const out = path.join(work, 'out-resume')
    await fetchCalibrationPhotos(out, { manifest: manifestOf(), debs, offline: true, log: () => {} })
    const again = await fetchCalibrationPhotos(out, { manifest: manifestOf(), debs: path.join(work, 'empty'), offline: true, log: () => {} })
    expect(again.kept.sort()).toEqual(['one.jpg', 'two.png'])
    expect(again.written).toEqual([])
    expect(again.packages).toEqual([])
    await writeFile(path.join(out, 'two.png'), 'truncated')
    const repaired = await fetchCalibrationPhotos(out, { manifest: manifestOf(), debs, offline: true, log: () => {} })
    expect(repaired).toMatchObject({ kept: ['one.jpg'], written: ['two.png'] })
    expect(await readFile(path.join(out, 'two.png'))).toEqual(images[1]?.bytes)
  })

  it("falls back to the suites' current version when the listed one is gone, and says so", async () => {
    const out = path.join(work, 'out-fallback')
    const cache = path.join(work, 'debs-fallback')
    const newer = buildDeb('1:1.0-2', work)
    const requests: string[] = []
    const download: DebDownloader = async ({ package: pkg, version, dir }) => {
      requests.push(version ? `${pkg}=${version}` : pkg)
      if (version) throw new Error(`E: Version '${version}' for '${pkg}' was not found`)
      await copyFile(newer, path.join(dir, path.basename(newer)))
    }
    const lines: string[] = []
    const report = await fetchCalibrationPhotos(out, { manifest: manifestOf(), debs: cache, download, log: (l) => lines.push(l) })
    expect(requests).toEqual(['test-photos=1:1.0-1', 'test-photos'])
    expect(report.packages).toEqual([{ package: 'test-photos', requested: '1:1.0-1', used: '1:1.0-2', from: 'download' }])
    expect(lines.join('\n')).toContain('version 1:1.0-1 is no longer in the configured suites; using 1:1.0-2')
    expect(report.written.sort()).toEqual(['one.jpg', 'two.png'])
  })

  it('offline without the package is a package_unavailable error naming it', async () => {
    const failure = await fetchCalibrationPhotos(path.join(work, 'out-none'), {
      manifest: manifestOf(),
      debs: path.join(work, 'nothing'),
      offline: true,
      log: () => {},
    }).catch((e: unknown) => e)
    expect((failure as DatasetError).code).toBe('package_unavailable')
    expect((failure as DatasetError).message).toContain('test-photos 1:1.0-1')
  })
})

describe('photos-calibration.json', () => {
  it('lists at least 60 full-size photos whose split is the name-hash split, half calibration per package', async () => {
    const manifest = await loadCalibrationManifest()
    expect(manifest.photos.length).toBeGreaterThanOrEqual(60)
    const split = splitCalibrationPhotos(manifest.photos)
    for (const photo of manifest.photos) expect(photo.split, photo.name).toBe(split.get(photo.name))
    expect(manifest.photos.filter((p) => p.split === 'test').length).toBeGreaterThanOrEqual(25)
  })

  it('shares no file, sha256 or source path with the photos GenImage-mini trains on', async () => {
    const manifest = await loadCalibrationManifest()
    const training = JSON.parse(await readFile(path.join(DEFAULT_PHOTOS_DIR, 'ATTRIBUTION.json'), 'utf8')) as {
      photos: { file: string; package: string; original: string; sha256: string }[]
    }
    const trainingSha = new Set(training.photos.map((p) => p.sha256))
    const trainingPaths = new Set(training.photos.map((p) => p.original))
    const trainingFiles = new Set([...training.photos.map((p) => p.file), ...(await readdir(DEFAULT_PHOTOS_DIR))])
    for (const photo of manifest.photos) {
      expect(trainingSha.has(photo.sha256), photo.name).toBe(false)
      expect(trainingPaths.has(photo.path), photo.name).toBe(false)
      expect(trainingFiles.has(photo.name), photo.name).toBe(false)
    }
    expect(new Set(manifest.photos.map((p) => p.sha256)).size).toBe(manifest.photos.length)
  })
})
