import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type * as tfjs from '@tensorflow/tfjs'
import type { ConvAutoencoder } from './autoencoder.ts'
import { resizeBicubic } from './crops.ts'
import type { Random } from './random.ts'
import { createRdnSession, runRdnSession } from './rdn-onnx.ts'
import { fromRgbBuffers, packageRoot, toRgbBuffers, type Tf } from './tf-runtime.ts'

/** One GenImage-mini `ai` generator: turns real crops (`size`² 8-bit RGB) into images it made. */
export interface MiniGenerator {
  /** Folder name, like GenImage's generator folders. */
  name: string
  /** `model` when a learned model computes the pixels; `control` for the non-learned bicubic baseline. */
  kind: 'model' | 'control'
  description: string
  /**
   * Images made from real crops; `randoms` holds one seeded stream per crop for the generator's noise, so an image
   * depends on its own stream only, not on its batch.
   */
  generate(crops: readonly Buffer[], size: number, randoms: readonly Random[]): Promise<Buffer[]>
  dispose(): void
}

/** Names of the generators GenImage-mini builds, in folder order (families: see `MINI_GENERATOR_FAMILY`). */
export const MINI_GENERATOR_NAMES = ['RDN-slim', 'RDN-medium', 'AE-decoder', 'LDM-ddpm-50', 'LDM-ddim-20', 'PixDM-ddpm-50', 'GAN-tconv', 'Bicubic'] as const
export type MiniGeneratorName = (typeof MINI_GENERATOR_NAMES)[number]

const RDN_PACKAGES: Record<'RDN-slim' | 'RDN-medium', string> = {
  'RDN-slim': '@upscalerjs/esrgan-slim',
  'RDN-medium': '@upscalerjs/esrgan-medium',
}

/**
 * A residual dense network (RDN) ×2 super-resolution model from an UpscalerJS package: the crop is reduced ×2
 * (anti-aliased bicubic) and the model draws it back at full size. The RDN variants register no custom layers
 * (only the GANs of the same family do) and take and return pixel values in [0, 255]. The Keras graph and weights
 * of the package run on onnxruntime's CPU provider with one thread (`rdnOnnxFromKeras`), about 4× faster than tfjs
 * on wasm; the two differ only in float rounding (about 1 byte in 30,000 by ±1), and one thread keeps every run
 * byte-identical.
 */
export async function createRdnGenerator(name: 'RDN-slim' | 'RDN-medium'): Promise<MiniGenerator & { params: number; weightsSha256: string }> {
  const pkg = RDN_PACKAGES[name]
  const modelJson = path.join(packageRoot(pkg), 'models', 'x2', 'model.json')
  const session = await createRdnSession(modelJson, 1)
  return {
    params: await rdnParamCount(modelJson),
    weightsSha256: await rdnWeightsSha256(modelJson),
    name,
    kind: 'model',
    description: `${pkg} x2 RDN super-resolution of the crop reduced x2 (MIT, weights in the package; run on onnxruntime)`,
    async generate(crops, size) {
      const half = size / 2
      const small = await Promise.all(crops.map((crop) => resizeBicubic(crop, size, half)))
      const input = new Float32Array(small.length * half * half * 3)
      for (const [i, image] of small.entries()) input.set(image, i * half * half * 3)
      const output = await runRdnSession(session, input, small.length, half, half)
      const per = size * size * 3
      return small.map((_, i) => {
        const image = Buffer.allocUnsafe(per)
        for (let j = 0; j < per; j++) image[j] = toByte(output[i * per + j]!)
        return image
      })
    },
    dispose: () => void session.release(),
  }
}

/** A pixel value clamped to [0, 255] and rounded half to even, as tfjs's `clipByValue(0, 255).round()` does. */
function toByte(value: number): number {
  const clamped = Math.min(255, Math.max(0, value))
  const floor = Math.floor(clamped)
  const fraction = clamped - floor
  return fraction > 0.5 || (fraction === 0.5 && floor % 2 === 1) ? floor + 1 : floor
}

/** Learned scalars of an UpscalerJS model, from its weights manifest. */
async function rdnParamCount(modelJson: string): Promise<number> {
  const manifest = JSON.parse(await readFile(modelJson, 'utf8')) as { weightsManifest: Array<{ weights: Array<{ shape: number[] }> }> }
  return manifest.weightsManifest.flatMap((group) => group.weights).reduce((sum, w) => sum + w.shape.reduce((a, d) => a * d, 1), 0)
}

/** sha256 of an UpscalerJS model's weight shards, concatenated in manifest order. */
async function rdnWeightsSha256(modelJson: string): Promise<string> {
  const manifest = JSON.parse(await readFile(modelJson, 'utf8')) as { weightsManifest: Array<{ paths: string[] }> }
  const hash = createHash('sha256')
  for (const shard of manifest.weightsManifest.flatMap((group) => group.paths)) hash.update(await readFile(path.join(path.dirname(modelJson), shard)))
  return hash.digest('hex')
}

/** The project's autoencoder used as a decoder: every image is `decode(encode(crop))`. The build disposes the model. */
export function createAutoencoderGenerator(tf: Tf, model: ConvAutoencoder): MiniGenerator {
  return {
    name: 'AE-decoder',
    kind: 'model',
    description: 'convolutional autoencoder trained on the training photos; image = decode(encode(crop))',
    async generate(crops, size) {
      const output = tf.tidy(() => model.reconstruct(fromRgbBuffers(crops, size, size).div(255) as tfjs.Tensor4D).mul(255)) as tfjs.Tensor4D
      const images = await toRgbBuffers(output)
      output.dispose()
      return images
    },
    dispose() {},
  }
}

/** Non-learned control: the crop reduced ×2 and enlarged ×2 again with bicubic interpolation. */
export function createBicubicGenerator(): MiniGenerator {
  return {
    name: 'Bicubic',
    kind: 'control',
    description: 'crop reduced x2 then enlarged x2 with bicubic (Catmull-Rom) interpolation; no model',
    async generate(crops, size) {
      return Promise.all(crops.map(async (crop) => resizeBicubic(await resizeBicubic(crop, size, size / 2), size / 2, size)))
    },
    dispose() {},
  }
}
