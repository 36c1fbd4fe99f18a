import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildMini,
  type BuildMiniOptions,
  DEFAULT_FAMILY_STEPS,
  MINI_GENERATOR_FAMILY,
  MINI_PHOTOS_DIR,
  type MiniManifest,
  SHIPPED_GENERATORS_DIR,
} from '../src/index.ts'
import { shipNetworks } from '../src/mini/network-cache.ts'
import { listPhotos, splitPhotos } from '../src/mini/photos.ts'
import { temporaryFolder } from './fixtures.ts'

/** Tiny training so the suite stays fast; the real defaults are in DEFAULT_FAMILY_STEPS (900/900/500) and the autoencoder's 360. */
const TINY = {
  seed: 7,
  size: 64,
  perClassTrain: 3,
  perClassVal: 1,
  autoencoderSteps: 4,
  familySteps: { 'latent-diffusion': 6, 'pixel-diffusion': 6, gan: 4 },
  families: ['latent-diffusion', 'pixel-diffusion', 'gan'],
} satisfies BuildMiniOptions
const NEW_GENERATORS = ['LDM-ddpm-50', 'LDM-ddim-20', 'PixDM-ddpm-50', 'GAN-tconv']

let work: { path: string; cleanup: () => Promise<void> }
let first: MiniManifest

const aiImages = async (root: string, generator: string): Promise<Map<string, Buffer>> => {
  const folder = path.join(root, generator, 'train', 'ai')
  const names = (await readdir(folder)).sort()
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(path.join(folder, n))] as const)))
}

beforeAll(async () => {
  work = await temporaryFolder('mini-families')
  first = (await buildMini(path.join(work.path, 'a'), TINY)).manifest!
}, 180_000)
afterAll(async () => {
  await work.cleanup()
})

describe('GenImage-mini generator families', () => {
  it('--families selects the latent diffusion, pixel diffusion and GAN generators and writes PNGs at the mini size', async () => {
    expect(first.generators.map((g) => g.name)).toEqual(NEW_GENERATORS)
    for (const name of NEW_GENERATORS) {
      const images = await aiImages(path.join(work.path, 'a'), name)
      expect(images.size, name).toBe(3)
      for (const [file, bytes] of images) {
        const meta = await sharp(bytes).metadata()
        expect([meta.format, meta.width, meta.height], `${name}/${file}`).toEqual(['png', 64, 64])
        const { channels } = await sharp(bytes).stats()
        expect(Math.max(...channels.map((c) => c.stdev)), `${name}/${file} is not flat`).toBeGreaterThan(1)
      }
    }
  })

  it('records per generator its family, network, parameters, steps and the weights sha256', () => {
    const byName = Object.fromEntries(first.generators.map((g) => [g.name, g]))
    expect(byName['LDM-ddpm-50']).toMatchObject({ family: 'latent-diffusion', steps: 50, sampling: { sampler: 'ddpm', evaluations: 15 } })
    expect(byName['LDM-ddim-20']).toMatchObject({ family: 'latent-diffusion', steps: 20, sampling: { sampler: 'ddim', evaluations: 6 } })
    expect(byName['LDM-ddpm-50']!.paperAnalogueOf).toEqual(['SD V1.4', 'SD V1.5', 'Wukong'])
    expect(byName['PixDM-ddpm-50']).toMatchObject({ family: 'pixel-diffusion', paperAnalogueOf: ['ADM', 'GLIDE'], steps: 50 })
    expect(byName['GAN-tconv']).toMatchObject({ family: 'gan', paperAnalogueOf: ['BigGAN'], steps: 1 })
    for (const g of first.generators) {
      expect(g.family).toBe(MINI_GENERATOR_FAMILY[g.name as keyof typeof MINI_GENERATOR_FAMILY])
      expect(g.network.length, g.name).toBeGreaterThan(0)
      expect(g.params, g.name).toBeGreaterThan(1000)
      expect(g.weightsSha256, g.name).toMatch(/^[0-9a-f]{64}$/)
    }
    // The two LDM generators share denoiser and decoder: same weights, same parameter count.
    expect(byName['LDM-ddpm-50']!.weightsSha256).toBe(byName['LDM-ddim-20']!.weightsSha256)
    expect(byName['LDM-ddpm-50']!.params).toBe(byName['LDM-ddim-20']!.params)
    for (const family of ['latent-diffusion', 'pixel-diffusion', 'gan'] as const) {
      expect(first.networks[family], family).toMatchObject({ source: 'trained', plan: { seed: 7, size: 64, steps: TINY.familySteps[family] } })
      expect(first.networks[family]!.lossCurve.length, family).toBeGreaterThan(0)
    }
    expect(first.networks['latent-diffusion']!.dependsOn).toEqual([first.autoencoder!.key])
  })

  it('is byte-identical for the same seed (training included) and the two LDM samplers give different images', async () => {
    const again = await buildMini(path.join(work.path, 'b'), TINY)
    for (const family of ['latent-diffusion', 'pixel-diffusion', 'gan'] as const) {
      expect(again.manifest!.networks[family]!.weightsSha256).toBe(first.networks[family]!.weightsSha256)
    }
    for (const name of NEW_GENERATORS) {
      const a = await aiImages(path.join(work.path, 'a'), name)
      const b = await aiImages(path.join(work.path, 'b'), name)
      for (const [file, bytes] of a) expect(b.get(file)!.equals(bytes), `${name}/${file}`).toBe(true)
    }
    const ddpm = await aiImages(path.join(work.path, 'a'), 'LDM-ddpm-50')
    const ddim = await aiImages(path.join(work.path, 'a'), 'LDM-ddim-20')
    expect([...ddpm].every(([file, bytes]) => !ddim.get(file)!.equals(bytes))).toBe(true)
  }, 180_000)

  it('reuses cached weights on a second build without training, and --retrain-generators trains again', async () => {
    const events: string[] = []
    const onProgress: BuildMiniOptions['onProgress'] = (e) => e.phase === 'training' && e.done < e.total && events.push(e.generator!)
    const cached = await buildMini(path.join(work.path, 'a'), { ...TINY, perClassTrain: 4, onProgress })
    expect(events).toEqual([])
    for (const family of ['latent-diffusion', 'pixel-diffusion', 'gan'] as const) {
      expect(cached.manifest!.networks[family], family).toMatchObject({ source: 'cache', weightsSha256: first.networks[family]!.weightsSha256 })
    }
    expect(cached.written).toBe(2 * NEW_GENERATORS.length)
    const retrained = await buildMini(path.join(work.path, 'a'), { ...TINY, perClassTrain: 4, retrainGenerators: true, families: ['gan'] })
    expect(retrained.manifest!.networks.gan).toMatchObject({ source: 'trained', weightsSha256: first.networks.gan!.weightsSha256 })
  }, 180_000)

  it('uses shipped weights whose key matches, and retrains when a training photo changes', async () => {
    const shipped = path.join(work.path, 'shipped')
    await shipNetworks(path.join(work.path, 'a'), 'gan', shipped)
    const fromShipped = await buildMini(path.join(work.path, 'c'), { ...TINY, families: ['gan'], shippedGeneratorsDir: shipped })
    expect(fromShipped.manifest!.networks.gan).toMatchObject({ source: 'shipped', weightsFile: path.join(shipped, 'gan.json') })

    const photos = path.join(work.path, 'photos')
    await mkdir(photos)
    for (const name of await listPhotos(MINI_PHOTOS_DIR)) await cp(path.join(MINI_PHOTOS_DIR, name), path.join(photos, name))
    const { train } = splitPhotos(await listPhotos(photos))
    const before = await buildMini(path.join(work.path, 'd'), { ...TINY, families: ['gan'], photos })
    const trainPhoto = path.join(photos, train[0]!)
    await writeFile(
      trainPhoto,
      await sharp(await readFile(trainPhoto))
        .flop()
        .jpeg()
        .toBuffer(),
    )
    const after = await buildMini(path.join(work.path, 'd'), { ...TINY, families: ['gan'], photos })
    expect(after.manifest!.networks.gan!.source).toBe('trained')
    expect(after.manifest!.networks.gan!.key).not.toBe(before.manifest!.networks.gan!.key)
  }, 180_000)

  it('a default build (seed 1, 128 px, the shipped photos) uses the shipped weights and trains nothing', async () => {
    const controller = new AbortController()
    const trainingSeen: string[] = []
    const result = await buildMini(path.join(work.path, 'defaults'), {
      perClassTrain: 1,
      perClassVal: 1,
      families: ['latent-diffusion', 'pixel-diffusion', 'gan'],
      signal: controller.signal,
      onProgress: (e) => {
        if ((e.phase === 'training' || e.phase === 'autoencoder') && e.done < e.total) {
          trainingSeen.push(e.generator!)
          controller.abort()
        }
      },
    })
    expect(trainingSeen, 'shipped weights are stale: run npm run train-mini-generators').toEqual([])
    expect(result.manifest!.autoencoder).toMatchObject({ cached: true, weightsFile: path.join(SHIPPED_GENERATORS_DIR, 'autoencoder.json') })
    for (const family of ['latent-diffusion', 'pixel-diffusion', 'gan'] as const) {
      expect(result.manifest!.networks[family], family).toMatchObject({ source: 'shipped', plan: { seed: 1, size: 128, steps: DEFAULT_FAMILY_STEPS[family] } })
    }
  }, 120_000)

  it('rejects unknown families and sizes the GAN and pixel diffusion cannot make, with bad_option', async () => {
    await expect(buildMini(path.join(work.path, 'x'), { ...TINY, families: ['vae' as 'gan'] })).rejects.toMatchObject({ code: 'bad_option' })
    await expect(buildMini(path.join(work.path, 'x'), { ...TINY, size: 36 })).rejects.toMatchObject({ code: 'bad_option' })
    await expect(buildMini(path.join(work.path, 'x'), { ...TINY, families: ['control'], generators: ['GAN-tconv'] })).rejects.toMatchObject({
      code: 'bad_option',
    })
  })
})
