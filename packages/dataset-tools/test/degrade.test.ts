import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { degrade } from '../src/degrade.ts'
import { DatasetError } from '../src/errors.ts'
import { estimateJpegQuality } from '@genimage/imaging'
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
      parameters: { downscale: 24, jpeg: 65, blur: null, interpolation: 'cubic', degradeReal: true, seed: 0 },
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
