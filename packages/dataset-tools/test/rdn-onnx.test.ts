import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { MINI_PHOTOS_DIR } from '../src/index.ts'
import { resizeBicubic } from '../src/mini/crops.ts'
import { createRdnGenerator } from '../src/mini/generators.ts'
import { PhotoCache, listPhotos } from '../src/mini/photos.ts'
import { rdnOnnxFromKeras } from '../src/mini/rdn-onnx.ts'
import { packageRoot, startTf, toRgbBuffers, fromRgbBuffers } from '../src/mini/tf-runtime.ts'
import { temporaryFolders } from './fixtures.ts'

const SIZE = 64
const folder = temporaryFolders()
const slimModelJson = () => path.join(packageRoot('@upscalerjs/esrgan-slim'), 'models', 'x2', 'model.json')

/** The UpscalerJS Keras model run by tfjs itself, as the builder ran it before it moved to onnxruntime. */
async function tfjsRdn(modelJson: string, crops: Buffer[]): Promise<Buffer[]> {
  const json = JSON.parse(await readFile(modelJson, 'utf8'))
  const shards = await Promise.all(
    json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => readFile(path.join(path.dirname(modelJson), p))),
  )
  const weights = Buffer.concat(shards)
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g: { weights: tf.io.WeightsManifestEntry[] }) => g.weights),
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  )
  const small = await Promise.all(crops.map((c) => resizeBicubic(c, SIZE, SIZE / 2)))
  const input = fromRgbBuffers(small, SIZE / 2, SIZE / 2)
  const output = model.predict(input) as tf.Tensor4D
  const images = await toRgbBuffers(output)
  tf.dispose([input, output])
  model.dispose()
  return images
}

async function realCrops(count: number): Promise<Buffer[]> {
  const cache = new PhotoCache(MINI_PHOTOS_DIR)
  const names = (await listPhotos(MINI_PHOTOS_DIR)).slice(0, count)
  return Promise.all(
    names.map(async (name) => {
      const photo = await cache.get(name)
      return sharp(photo.pixels, { raw: { width: photo.width, height: photo.height, channels: 3 } })
        .extract({ left: 0, top: 0, width: 256, height: 256 })
        .resize(SIZE, SIZE)
        .raw()
        .toBuffer()
    }),
  )
}

describe('RDN generators on onnxruntime', () => {
  it('draw what the Keras model draws under tfjs, up to float rounding, and the same bytes on every run', async () => {
    await startTf()
    const crops = await realCrops(3)
    const generator = await createRdnGenerator('RDN-slim')
    const onnx = await generator.generate(crops, SIZE, [])
    const again = await generator.generate(crops, SIZE, [])
    generator.dispose()
    const reference = await tfjsRdn(slimModelJson(), crops)
    let differing = 0
    for (const [i, image] of onnx.entries()) {
      expect(image.length).toBe(SIZE * SIZE * 3)
      expect(again[i]!.equals(image), 'deterministic').toBe(true)
      for (let j = 0; j < image.length; j++) {
        const d = Math.abs(image[j]! - reference[i]![j]!)
        expect(d).toBeLessThanOrEqual(1)
        if (d > 0) differing++
      }
    }
    expect(differing / (crops.length * SIZE * SIZE * 3)).toBeLessThan(1e-3)
    expect(generator.params).toBe(
      JSON.parse(await readFile(slimModelJson(), 'utf8')).weightsManifest[0].weights.reduce(
        (s: number, w: { shape: number[] }) => s + w.shape.reduce((a, d) => a * d, 1),
        0,
      ),
    )
  })

  it('refuses a Keras layer it cannot reproduce, naming it', async () => {
    const dir = await folder('rdn-onnx')
    const json = JSON.parse(await readFile(slimModelJson(), 'utf8'))
    json.modelTopology.model_config.config.layers[1].class_name = 'DepthwiseConv2D'
    await mkdir(dir, { recursive: true })
    const copy = path.join(dir, 'model.json')
    await writeFile(copy, JSON.stringify(json))
    for (const shard of json.weightsManifest[0].paths) await writeFile(path.join(dir, shard), await readFile(path.join(path.dirname(slimModelJson()), shard)))
    await expect(rdnOnnxFromKeras(copy)).rejects.toThrow(/layer F_m1 \(DepthwiseConv2D\)/)
  })
})
