import type * as tfjs from '@tensorflow/tfjs'
import type { Random } from './random.ts'
import type { Tf } from './tf-runtime.ts'

/**
 * A small convolutional autoencoder: 3×3 convolutions with pixel-unshuffle down-sampling to a latent of
 * `LATENT_CHANNELS` channels at 1/4 resolution (6× fewer numbers than the RGB input), then a decoder that
 * up-samples with pixel-shuffle — the way Stable Diffusion's images come out of a VAE decoder.
 *
 * Convolution gradients are computed with forward convolutions (see `conv3x3`), so training needs only kernels
 * every tfjs backend has (the wasm backend has no Conv2DBackpropFilter/Input).
 */
export const AUTOENCODER_ARCH = 'conv-ae-v1'
export const LATENT_CHANNELS = 8

interface LayerSpec {
  name: string
  kernel: 1 | 3
  inChannels: number
  outChannels: number
}

const LAYERS: readonly LayerSpec[] = [
  { name: 'enc1', kernel: 3, inChannels: 3, outChannels: 16 },
  { name: 'enc2', kernel: 3, inChannels: 64, outChannels: 32 },
  { name: 'latent', kernel: 1, inChannels: 128, outChannels: LATENT_CHANNELS },
  { name: 'dec1', kernel: 3, inChannels: LATENT_CHANNELS, outChannels: 64 },
  { name: 'dec2', kernel: 3, inChannels: 16, outChannels: 64 },
  { name: 'out', kernel: 3, inChannels: 16, outChannels: 3 },
]

/** Weights as plain numbers, the form they are cached in. */
export interface AutoencoderWeights {
  arch: string
  layers: Array<{ name: string; kernel: number[]; bias: number[] }>
}

/** The trainable model: call `reconstruct` inside `tf.tidy`. */
export class ConvAutoencoder {
  private constructor(
    private readonly tf: Tf,
    readonly variables: Array<{ kernel: tfjs.Variable; bias: tfjs.Variable }>,
  ) {}

  /** He-initialised weights drawn from `random`, so the same seed gives the same starting point on every backend. */
  static create(tf: Tf, random: Random): ConvAutoencoder {
    const variables = LAYERS.map((layer) => {
      const fanIn = layer.kernel * layer.kernel * layer.inChannels
      const std = Math.sqrt(2 / fanIn)
      const kernel = Float32Array.from({ length: fanIn * layer.outChannels }, () => random.normal() * std)
      return {
        kernel: tf.variable(tf.tensor2d(kernel, [fanIn, layer.outChannels]), true, `${layer.name}_kernel`),
        bias: tf.variable(tf.zeros([layer.outChannels]), true, `${layer.name}_bias`),
      }
    })
    return new ConvAutoencoder(tf, variables)
  }

  static fromWeights(tf: Tf, weights: AutoencoderWeights): ConvAutoencoder {
    if (weights.arch !== AUTOENCODER_ARCH) throw new Error(`autoencoder weights are ${weights.arch}, expected ${AUTOENCODER_ARCH}`)
    const variables = LAYERS.map((layer, i) => {
      const saved = weights.layers[i]
      const fanIn = layer.kernel * layer.kernel * layer.inChannels
      if (saved?.name !== layer.name || saved.kernel.length !== fanIn * layer.outChannels) {
        throw new Error(`autoencoder weights do not match layer ${layer.name}`)
      }
      return {
        kernel: tf.variable(tf.tensor2d(saved.kernel, [fanIn, layer.outChannels]), false),
        bias: tf.variable(tf.tensor1d(saved.bias), false),
      }
    })
    return new ConvAutoencoder(tf, variables)
  }

  async toWeights(): Promise<AutoencoderWeights> {
    const layers = await Promise.all(
      LAYERS.map(async (layer, i) => ({
        name: layer.name,
        kernel: Array.from(await this.variables[i]!.kernel.data()),
        bias: Array.from(await this.variables[i]!.bias.data()),
      })),
    )
    return { arch: AUTOENCODER_ARCH, layers }
  }

  /** Images in [0, 1] (NHWC, sides divisible by 4) → latent at 1/4 resolution. */
  encode(images: tfjs.Tensor4D): tfjs.Tensor4D {
    return this.path(images, 0, spaceToDepth)
  }

  /** Latent → images, roughly in [0, 1] (not clipped, so training sees the true error). */
  decode(latent: tfjs.Tensor4D): tfjs.Tensor4D {
    return this.path(latent, 3, depthToSpace)
  }

  /** Convolutions `first`, `first + 1` (each with ReLU, then `resample`) and `first + 2`. */
  private path(x: tfjs.Tensor4D, first: number, resample: (tf: Tf, x: tfjs.Tensor4D) => tfjs.Tensor4D): tfjs.Tensor4D {
    for (const i of [first, first + 1]) x = resample(this.tf, this.tf.relu(this.conv(x, i)))
    return this.conv(x, first + 2)
  }

  reconstruct(images: tfjs.Tensor4D): tfjs.Tensor4D {
    return this.decode(this.encode(images))
  }

  dispose(): void {
    for (const v of this.variables) {
      v.kernel.dispose()
      v.bias.dispose()
    }
  }

  private conv(x: tfjs.Tensor4D, index: number): tfjs.Tensor4D {
    const tf = this.tf
    const layer = LAYERS[index]!
    const { kernel, bias } = this.variables[index]!
    const [batch, height, width, channels] = x.shape
    if (layer.kernel === 1) {
      const columns = x.reshape([batch * height * width, channels]) as tfjs.Tensor2D
      return tf.add(tf.matMul(columns, kernel as tfjs.Tensor2D), bias).reshape([batch, height, width, layer.outChannels])
    }
    const filter = kernel.reshape([3, 3, channels, layer.outChannels]) as tfjs.Tensor4D
    return tf.add(conv3x3(tf, x, filter), bias)
  }
}

/**
 * A 3×3 'same' convolution whose gradients are themselves forward convolutions, so training needs only the
 * Conv2D kernel (the wasm backend has no Conv2DBackpropFilter/Input): the input gradient convolves `dy` with the
 * flipped, transposed filter; the filter gradient convolves the padded input (batch as channels) with `dy`.
 */
function conv3x3(tf: Tf, x: tfjs.Tensor4D, filter: tfjs.Tensor4D): tfjs.Tensor4D {
  const op = tf.customGrad((...args: Array<tfjs.Tensor | tfjs.GradSaveFunc>) => {
    const xs = args[0] as tfjs.Tensor4D
    const w = args[1] as tfjs.Tensor4D
    const save = args[2] as tfjs.GradSaveFunc
    save([xs, w])
    return {
      value: tf.conv2d(xs, w, 1, 'same'),
      gradFunc: (dy, saved) => {
        const [xSaved, wSaved] = saved as [tfjs.Tensor4D, tfjs.Tensor4D]
        const dyT = dy as tfjs.Tensor4D
        const dx = tf.conv2d(dyT, tf.transpose(tf.reverse(wSaved, [0, 1]), [0, 1, 3, 2]), 1, 'same')
        const paddedByChannel = tf.transpose(
          tf.pad(xSaved, [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ]),
          [3, 1, 2, 0],
        ) as tfjs.Tensor4D
        const dyAsFilter = tf.transpose(dyT, [1, 2, 0, 3]) as tfjs.Tensor4D
        const dw = tf.transpose(tf.conv2d(paddedByChannel, dyAsFilter, 1, 'valid'), [1, 2, 0, 3])
        return [dx, dw]
      },
    }
  })
  return op(x, filter) as tfjs.Tensor4D
}

/** Pixel-unshuffle: each 2×2 block of pixels becomes 4× the channels at half the side. */
export function spaceToDepth(tf: Tf, x: tfjs.Tensor4D): tfjs.Tensor4D {
  const [b, h, w, c] = x.shape
  return tf.transpose(x.reshape([b, h / 2, 2, w / 2, 2, c]), [0, 1, 3, 2, 4, 5]).reshape([b, h / 2, w / 2, 4 * c])
}

/** Pixel-shuffle (the inverse of `spaceToDepth`): 4 channel groups become a 2×2 block at twice the side. */
export function depthToSpace(tf: Tf, x: tfjs.Tensor4D): tfjs.Tensor4D {
  const [b, h, w, c] = x.shape
  return tf.transpose(x.reshape([b, h, w, 2, 2, c / 4]), [0, 1, 3, 2, 4, 5]).reshape([b, h * 2, w * 2, c / 4])
}

/** Options for `trainAutoencoder`. */
export interface AutoencoderTraining {
  /** Training patches, 8-bit RGB, each `patchSize`² pixels. */
  patches: readonly Buffer[]
  patchSize: number
  steps: number
  batchSize: number
  learningRate: number
  random: Random
  onStep?: (step: number, loss: number) => void
  /** Stops training early (the caller then discards the model). */
  signal?: AbortSignal
}

/** Trains with Adam on mean squared error; returns the mean loss of each step. */
export async function trainAutoencoder(tf: Tf, model: ConvAutoencoder, options: AutoencoderTraining): Promise<number[]> {
  const optimizer = tf.train.adam(options.learningRate)
  const trainable = model.variables.flatMap((v) => [v.kernel, v.bias])
  const losses: number[] = []
  const { patchSize } = options
  for (let step = 0; step < options.steps && !options.signal?.aborted; step++) {
    const batch = Array.from({ length: options.batchSize }, () => options.patches[options.random.int(0, options.patches.length - 1)]!)
    const data = new Float32Array(batch.length * patchSize * patchSize * 3)
    for (const [i, patch] of batch.entries()) data.set(patch, i * patchSize * patchSize * 3)
    const images = tf.tidy(() => tf.tensor4d(data, [batch.length, patchSize, patchSize, 3]).div(255) as tfjs.Tensor4D)
    const loss = optimizer.minimize(() => tf.mean(tf.squaredDifference(model.reconstruct(images), images)) as tfjs.Scalar, true, trainable)
    const value = (await loss!.data())[0]!
    loss!.dispose()
    images.dispose()
    losses.push(value)
    options.onStep?.(step + 1, value)
  }
  optimizer.dispose()
  return losses
}
