import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { InputConfig, ModelEvidence } from '@genimage/shared'
import { resolveZooModel } from '@genimage/shared/zoo'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeForTraining, evidenceCrop } from '../src/train/augment.ts'
import { BatchSource } from '../src/train/batches.ts'
import type { LabelledImage } from '../src/train/dataset.ts'
import { SeededRandom } from '../src/zoo/params.ts'

const WIDTH = 300
const HEIGHT = 200
/** ResNet-50 tiny's input (32 px, shorter side resized to 37 then centre-cropped) with values in [0, 1]. */
const resized: InputConfig = { ...resolveZooModel('resnet50-tiny').input, mean: [0, 0, 0], std: [1, 1, 1] }
const native: ModelEvidence = { mode: 'tiles', crop: 32, maxTiles: 16, aggregate: { rule: 'max' }, downscale: 'never' }
const withEvidence: InputConfig = { ...resized, evidence: native }

let dir: string
let pixels: Uint8Array
let images: LabelledImage[]

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-native-crops-'))
  pixels = new Uint8Array(WIDTH * HEIGHT * 3)
  let state = 99
  for (let i = 0; i < pixels.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0
    pixels[i] = state >>> 24
  }
  const path = join(dir, 'noise.png')
  await sharp(pixels, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } }).toFile(path)
  images = Array.from({ length: 4 }, (_, i) => ({ path, generator: 'G', kind: i % 2 ? 'ai' : 'nature', label: i % 2 }))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

/** Where a crop (levels, interleaved RGB) sits in the source, plain or mirrored; undefined when it is nowhere. */
function locate(crop: Uint8Array, side: number): { left: number; top: number; mirrored: boolean } | undefined {
  const at = (x: number, y: number, c: number) => pixels[(y * WIDTH + x) * 3 + c]
  for (const mirrored of [false, true]) {
    for (let top = 0; top + side <= HEIGHT; top++) {
      for (let left = 0; left + side <= WIDTH; left++) {
        let same = true
        for (let y = 0; y < side && same; y++) {
          for (let x = 0; x < side && same; x++) {
            const sx = left + (mirrored ? side - 1 - x : x)
            for (let c = 0; c < 3 && same; c++) same = crop[(y * side + x) * 3 + c] === at(sx, top + y, c)
          }
        }
        if (same) return { left, top, mirrored }
      }
    }
  }
  return undefined
}

const levels = (values: Float32Array) => Uint8Array.from(values, (v) => Math.round(v * 255))

describe('native-resolution training crops (card input.evidence)', () => {
  it('leaves the default recipe alone: without evidence the image is resized before cropping', async () => {
    const path = images[0]!.path
    expect(await decodeForTraining(path, resized)).toMatchObject({ width: 56, height: 37 })
    expect(await decodeForTraining(path, withEvidence)).toMatchObject({ width: WIDTH, height: HEIGHT })
  })

  it('takes crops whose pixels are the source pixels, unresampled, seeded and reproducible', async () => {
    const source = (seed: number) => new BatchSource(images, { input: withEvidence, augmentations: [], seed, batchSize: 4 })
    const batch = await source(7).batch(0, 0)
    const plane = 32 * 32 * 3
    const places = Array.from({ length: 4 }, (_, i) => locate(levels(batch.images.subarray(i * plane, (i + 1) * plane)), 32))
    for (const place of places) expect(place).toBeDefined()
    expect(new Set(places.map((p) => `${p!.left},${p!.top}`)).size).toBeGreaterThan(1)
    expect(Array.from((await source(7).batch(0, 0)).images)).toEqual(Array.from(batch.images))
    expect(Array.from((await source(8).batch(0, 0)).images)).not.toEqual(Array.from(batch.images))
  })

  it('resizes each crop (not the image) to the input only when the card says tile-to-input', async () => {
    const image = await decodeForTraining(images[0]!.path, withEvidence)
    const input = { ...withEvidence, interpolation: 'nearest' as const, evidence: { ...native, crop: 64, downscale: 'tile-to-input' as const } }
    const crop = await evidenceCrop(image, input, new SeededRandom(3))
    expect(crop).toMatchObject({ width: 32, height: 32 })
    const plain = await evidenceCrop(image, withEvidence, new SeededRandom(3))
    expect(locate(plain.data, 32)).toBeDefined()
  })
})
