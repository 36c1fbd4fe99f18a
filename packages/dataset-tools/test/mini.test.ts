import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildMini, MINI_GENERATOR_NAMES, MINI_PHOTOS_DIR, type BuildMiniOptions } from '../src/index.ts'
import { estimateJpegQuality } from '@genimage/imaging'
import { listPhotos, splitPhotos } from '../src/mini/photos.ts'

/** Tiny training for speed; `dataset mini` defaults: autoencoder 360 steps, families per DEFAULT_FAMILY_STEPS (shipped weights). */
const SMALL = {
  perClassTrain: 6,
  perClassVal: 2,
  autoencoderSteps: 8,
  familySteps: { 'latent-diffusion': 4, 'pixel-diffusion': 4, gan: 4 },
} satisfies BuildMiniOptions
let work: string

const isPng = (bytes: Buffer) => bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
const isJpeg = (bytes: Buffer) => bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff

/** Every image of a build, relative path → bytes (the `.genimage` cache and `mini.json` timings excluded). */
async function images(root: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name)
    const rel = path.relative(root, full)
    if (entry.isFile() && !rel.startsWith('.genimage') && rel !== 'mini.json') files.set(rel, await readFile(full))
  }
  return files
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'genimage-mini-'))
})
afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

describe('GenImage-mini from the shipped photos', () => {
  let first: Map<string, Buffer>

  beforeAll(async () => {
    await buildMini(path.join(work, 'a'), { ...SMALL, seed: 7 })
    first = await images(path.join(work, 'a'))
  }, 240_000)

  it('writes the declared number of images per generator, split and class, ai as PNG and nature as JPEG q96', async () => {
    expect(MINI_GENERATOR_NAMES.length).toBeGreaterThanOrEqual(4)
    for (const generator of MINI_GENERATOR_NAMES) {
      for (const [split, count] of [
        ['train', 6],
        ['val', 2],
      ] as const) {
        const ai = [...first.keys()].filter((k) => k.startsWith(path.join(generator, split, 'ai') + path.sep))
        const nature = [...first.keys()].filter((k) => k.startsWith(path.join(generator, split, 'nature') + path.sep))
        expect(ai, `${generator}/${split}/ai`).toHaveLength(count)
        expect(nature, `${generator}/${split}/nature`).toHaveLength(count)
        for (const file of ai) expect(isPng(first.get(file)!), file).toBe(true)
        for (const file of nature) {
          expect(isJpeg(first.get(file)!), file).toBe(true)
          expect(estimateJpegQuality(first.get(file)!)?.quality, file).toBe(96)
        }
      }
    }
    const sample = await sharp(first.get(path.join('RDN-medium', 'train', 'ai', 'ai_00000.png'))!).metadata()
    expect([sample.width, sample.height]).toEqual([128, 128])
    const manifest = JSON.parse(await readFile(path.join(work, 'a', 'mini.json'), 'utf8'))
    expect(manifest).toMatchObject({ seed: 7, size: 128, perClass: { train: 6, val: 2 }, debias: false })
    expect(manifest.generators.map((g: { name: string }) => g.name)).toEqual([...MINI_GENERATOR_NAMES])
    expect(manifest.autoencoder.lossCurve.length).toBeGreaterThan(0)
  })

  it('draws train and val from disjoint photo sets, the ones ATTRIBUTION.json records', async () => {
    const manifest = JSON.parse(await readFile(path.join(work, 'a', 'mini.json'), 'utf8'))
    const { train, val } = manifest.photos as { train: string[]; val: string[] }
    expect(val.length).toBeGreaterThan(0)
    expect(train.filter((p) => val.includes(p))).toEqual([])
    expect([...train, ...val].sort()).toEqual(await listPhotos(MINI_PHOTOS_DIR))
    const attribution = JSON.parse(await readFile(path.join(MINI_PHOTOS_DIR, 'ATTRIBUTION.json'), 'utf8'))
    expect(attribution.split).toEqual({ train, val })
  })

  it('is byte-identical for the same seed and differs for another seed', async () => {
    await buildMini(path.join(work, 'b'), { ...SMALL, seed: 7 })
    const second = await images(path.join(work, 'b'))
    expect([...second.keys()].sort()).toEqual([...first.keys()].sort())
    for (const [file, bytes] of first) expect(second.get(file)!.equals(bytes), file).toBe(true)

    await buildMini(path.join(work, 'c'), { ...SMALL, seed: 8, generators: ['AE-decoder', 'Bicubic'] })
    const other = await images(path.join(work, 'c'))
    const changed = [...other].filter(([file, bytes]) => !first.get(file)!.equals(bytes))
    expect(changed.length).toBe(other.size)
  }, 240_000)

  it('continues an interrupted build: only missing files are written, and they match', async () => {
    const root = path.join(work, 'b')
    const lost = [path.join('RDN-slim', 'train', 'ai', 'ai_00003.png'), path.join('Bicubic', 'val', 'nature', 'nature_00001.jpg')]
    for (const file of lost) await rm(path.join(root, file))
    await writeFile(path.join(root, 'RDN-slim', 'train', 'ai', 'ai_00004.png.tmp-1'), 'half-written')
    const result = await buildMini(root, { ...SMALL, seed: 7 })
    expect(result.written).toBe(lost.length)
    expect(result.skipped).toBe(first.size - lost.length)
    expect(result.manifest?.autoencoder?.cached).toBe(true)
    const resumed = await images(root)
    expect(resumed.size).toBe(first.size)
    for (const [file, bytes] of first) expect(resumed.get(file)!.equals(bytes), file).toBe(true)
  }, 240_000)

  it('stops on abort without mini.json, and a re-run finishes with the same bytes', async () => {
    const root = path.join(work, 'aborted')
    const controller = new AbortController()
    const stopped = await buildMini(root, {
      ...SMALL,
      seed: 7,
      generators: ['Bicubic'],
      signal: controller.signal,
      onProgress: (event) => event.phase === 'images' && event.done >= 5 && controller.abort(),
    })
    expect(stopped.interrupted).toBe(true)
    expect(stopped.written).toBeLessThan(16)
    await expect(readFile(path.join(root, 'mini.json'))).rejects.toThrow()
    const finished = await buildMini(root, { ...SMALL, seed: 7, generators: ['Bicubic'] })
    expect(finished.interrupted).toBe(false)
    expect(finished.skipped).toBe(stopped.written)
    expect(finished.written + finished.skipped).toBe(16)
    const rebuilt = await images(root)
    expect(rebuilt.size).toBe(16)
    for (const [file, bytes] of rebuilt) expect(bytes.equals(first.get(file)!), file).toBe(true)
  }, 60_000)

  it('refuses to continue a folder built with another seed', async () => {
    await expect(buildMini(path.join(work, 'b'), { ...SMALL, seed: 9 })).rejects.toMatchObject({ code: 'bad_option' })
  })
})

describe('GenImage-mini options', () => {
  it('--debias saves ai as JPEG q96 too', async () => {
    const root = path.join(work, 'debiased')
    await buildMini(root, { ...SMALL, seed: 7, debias: true, generators: ['RDN-slim', 'Bicubic'] })
    const built = await images(root)
    const ai = [...built].filter(([file]) => file.includes(`${path.sep}ai${path.sep}`))
    expect(ai).toHaveLength(2 * (6 + 2))
    for (const [file, bytes] of ai) {
      expect(file.endsWith('.jpg'), file).toBe(true)
      expect(estimateJpegQuality(bytes)?.quality, file).toBe(96)
    }
  }, 60_000)

  it('crops train images only from train photos and val images only from val photos (user --photos folder)', async () => {
    const photos = path.join(work, 'flat-photos')
    const colours = ['#d01010', '#10d010', '#1010d0', '#d0d010', '#10d0d0', '#d010d0']
    await rm(photos, { recursive: true, force: true })
    await import('node:fs/promises').then((fs) => fs.mkdir(photos))
    for (const [i, colour] of colours.entries()) {
      await sharp({ create: { width: 200, height: 150, channels: 3, background: colour } })
        .png()
        .toFile(path.join(photos, `p${i}.png`))
    }
    const split = splitPhotos(await listPhotos(photos))
    const colourOf = (name: string) => colours[Number(name.slice(1, -4))]!
    const root = path.join(work, 'flat')
    await buildMini(root, { ...SMALL, seed: 3, size: 64, photos, generators: ['Bicubic'] })
    for (const [file, bytes] of await images(root)) {
      const { channels } = await sharp(bytes).stats()
      const mean = `#${channels
        .slice(0, 3)
        .map((c) => Math.round(c.mean).toString(16).padStart(2, '0'))
        .join('')}`
      const nearest = colours.reduce((best, c) => (distance(c, mean) < distance(best, mean) ? c : best))
      const allowed = (file.includes(`${path.sep}val${path.sep}`) ? split.val : split.train).map(colourOf)
      expect(allowed, file).toContain(nearest)
    }
  }, 60_000)

  it('rejects bad options with stable codes', async () => {
    await expect(buildMini(path.join(work, 'x'), { size: 30 })).rejects.toMatchObject({ code: 'bad_option' })
    await expect(buildMini(path.join(work, 'x'), { perClassTrain: 0 })).rejects.toMatchObject({ code: 'bad_option' })
    await expect(buildMini(path.join(work, 'x'), { photos: path.join(work, 'missing') })).rejects.toMatchObject({
      code: 'not_a_directory',
    })
  })
})

function distance(a: string, b: string): number {
  let sum = 0
  for (let i = 1; i < 7; i += 2) sum += Math.abs(parseInt(a.slice(i, i + 2), 16) - parseInt(b.slice(i, i + 2), 16))
  return sum
}
