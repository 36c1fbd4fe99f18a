import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { degradeImage, estimateJpegQuality } from '@genimage/imaging'
import { DEFAULT_DEGRADATION_PARAMETERS, parseDegradation } from '@genimage/shared/genimage'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { degrade, TABLE5_VARIANTS } from '../src/degrade.ts'
import type { DatasetError } from '../src/errors.ts'
import type { Progress } from '../src/progress.ts'
import { temporaryFolders, writeLayoutTree } from './fixtures.ts'

const folder = temporaryFolders()
async function tree(): Promise<string> {
  const root = await folder('degrade')
  await writeLayoutTree(root, { 'SD_V1.4': { size: 48, count: 3 } })
  return root
}

describe('degrade', () => {
  it('downscales and JPEG-compresses both classes, recording every parameter beside the output', async () => {
    const root = await tree()
    const out = await folder('out')
    const report = await degrade(root, out, { downscale: 24, jpeg: 65 })
    expect(report).toMatchObject({ written: 12, failed: [], skipped: [] })
    expect((await readdir(join(out, 'SD_V1.4', 'val', 'ai'))).sort()).toEqual(['val_0.jpg', 'val_1.jpg', 'val_2.jpg'])
    const fake = await readFile(join(out, 'SD_V1.4', 'val', 'ai', 'val_0.jpg'))
    expect(estimateJpegQuality(fake)).toEqual({ quality: 65, exact: true })
    expect(await sharp(fake).metadata()).toMatchObject({ width: 24, height: 24, format: 'jpeg' })
    const real = await sharp(await readFile(join(out, 'SD_V1.4', 'train', 'nature', 'n0.jpg'))).metadata()
    expect(real).toMatchObject({ width: 28, height: 24 })
    const sidecar = JSON.parse(await readFile(join(out, 'degrade.json'), 'utf8'))
    expect(sidecar).toMatchObject({
      status: 'complete',
      written: 12,
      parameters: { downscale: 24, jpeg: 65, blur: null, interpolation: 'bilinear', degradeReal: true, seed: 0 },
    })
  })

  it('is byte-identical across runs and blurs visibly; keeps real images untouched when asked', async () => {
    const root = await tree()
    const [a, b] = [await folder('a'), await folder('b')]
    await degrade(root, a, { blur: 3 })
    await degrade(root, b, { blur: 3 })
    const name = join('SD_V1.4', 'train', 'ai', 'train_1.png')
    expect(await readFile(join(a, name))).toEqual(await readFile(join(b, name)))
    const before = await sharp(join(root, name)).stats()
    const after = await sharp(join(a, name)).stats()
    expect(after.channels[0]!.stdev).toBeLessThan(before.channels[0]!.stdev * 0.8)

    const keep = await folder('keep')
    await degrade(root, keep, { blur: 3, degradeReal: false })
    const realName = join('SD_V1.4', 'val', 'nature', 'n2.JPEG')
    expect(await readFile(join(keep, realName))).toEqual(await readFile(join(root, realName)))
    expect(await readFile(join(keep, name))).toEqual(await readFile(join(a, name)))
  })

  it('writes each Table 5 variant with the one degradeImage and its defaults: JPEG sources come out as lossless PNG unless JPEG-encoded', async () => {
    const root = await tree()
    for (const [id, steps] of Object.entries(TABLE5_VARIANTS)) {
      const out = await folder(id)
      expect(await degrade(root, out, steps)).toMatchObject({ written: 12, failed: [] })
      const isJpeg = id.startsWith('jpeg')
      expect((await readdir(join(out, 'SD_V1.4', 'val', 'nature'))).sort(), id).toEqual(['n0', 'n1', 'n2'].map((n) => `${n}.${isJpeg ? 'jpg' : 'png'}`))
      for (const [source, written] of [
        ['train/ai/train_0.png', `train/ai/train_0.${isJpeg ? 'jpg' : 'png'}`],
        ['val/nature/n1.JPEG', `val/nature/n1.${isJpeg ? 'jpg' : 'png'}`],
      ]) {
        const expected = await degradeImage(await readFile(join(root, 'SD_V1.4', source!)), parseDegradation(id), DEFAULT_DEGRADATION_PARAMETERS)
        expect((await readFile(join(out, 'SD_V1.4', written!))).equals(expected), `${id} ${source}`).toBe(true)
      }
    }
  })

  it('records the encoders in degrade.json and writes byte-identical JPEGs run after run, native path or not', async () => {
    const root = await tree()
    const [a, b] = [await folder('native-a'), await folder('native-b')]
    expect(await degrade(root, a, { jpeg: 65 })).toMatchObject({ written: 12, failed: [] })
    await degrade(root, b, { jpeg: 65 })
    const sidecar = JSON.parse(await readFile(join(a, 'degrade.json'), 'utf8'))
    expect(sidecar.parameters.encoder).toMatch(/libdeflate .* \+ libjpeg.*native addon.*sharp/)
    expect(sidecar.encodersThisRun).toEqual({ native: 6, sharp: 6, nativeDeclined: {} })
    const names = ['train/ai/train_0.jpg', 'val/ai/val_2.jpg', 'val/nature/n1.jpg']
    for (const name of names) expect((await readFile(join(a, 'SD_V1.4', name))).equals(await readFile(join(b, 'SD_V1.4', name))), name).toBe(true)

    process.env.GENIMAGE_PNG_JPEG = 'sharp'
    try {
      const plain = await folder('native-off')
      await degrade(root, plain, { jpeg: 65 })
      const off = JSON.parse(await readFile(join(plain, 'degrade.json'), 'utf8'))
      expect(off.parameters.encoder).toMatch(/^sharp [\d.]+, libvips/)
      expect(off.encodersThisRun).toEqual({ native: 0, sharp: 12, nativeDeclined: {} })
      for (const name of names) expect((await readFile(join(plain, 'SD_V1.4', name))).equals(await readFile(join(a, 'SD_V1.4', name))), name).toBe(true)
    } finally {
      delete process.env.GENIMAGE_PNG_JPEG
    }
  })

  it('samples the same images for the same seed', async () => {
    const root = await tree()
    const pick = async (seed: number) => {
      const out = await folder('sample')
      const report = await degrade(root, out, { jpeg: 30, sample: 0.5, seed })
      return report.skipped.map((s) => s.path)
    }
    const first = await pick(7)
    expect(await pick(7)).toEqual(first)
    expect(first.length).toBeGreaterThan(0)
    expect(first.length).toBeLessThan(12)
  })

  it('continues an interrupted run and refuses to mix parameters in one output', async () => {
    const root = await tree()
    const out = await folder('resume')
    const controller = new AbortController()
    let started = 0
    const stopSoon: Progress = { start() {}, setTotal() {}, stop() {}, increment: () => void (++started === 4 && controller.abort()) }
    const first = await degrade(root, out, { jpeg: 30, signal: controller.signal, progress: stopSoon, concurrency: 1 })
    expect(first.interrupted).toBe(true)
    const second = await degrade(root, out, { jpeg: 30 })
    expect(second.written + second.alreadyDone).toBe(12)
    expect(second.alreadyDone).toBe(first.written)
    const files = await readdir(join(out, 'SD_V1.4', 'train', 'ai'))
    expect(files.sort()).toEqual(['train_0.jpg', 'train_1.jpg', 'train_2.jpg'])
    const mixed = await degrade(root, out, { jpeg: 65 }).catch((error: unknown) => error)
    expect((mixed as DatasetError).code).toBe('bad_option')
  })

  it('rejects bad options with a stable code', async () => {
    const root = await tree()
    for (const bad of [{}, { jpeg: 0 }, { jpeg: 101 }, { blur: -1 }, { downscale: 3 }]) {
      const failure = await degrade(root, await folder('bad'), bad).catch((error: unknown) => error)
      expect((failure as DatasetError).code).toBe('bad_option')
    }
  })
})
