import type { InputConfig } from '@genimage/shared'
import type { TrainingAugmentation } from '@genimage/shared/zoo'
import { deriveSeed, SeededRandom } from '../zoo/params.ts'
import { applyAugmentations, decodeForTraining, evidenceCrop, normaliseInto, type RgbImage } from './augment.ts'
import type { LabelledImage } from './dataset.ts'

export interface Batch {
  /** Normalised NHWC floats. */
  images: Float32Array
  labels: number[]
}

export interface BatchSourceOptions {
  input: InputConfig
  augmentations: readonly TrainingAugmentation[]
  seed: number
  batchSize: number
  jpegAlignQuality?: number
  /** Decoded pixels kept in memory across epochs (default 1 GiB). */
  cacheBytes?: number
}

/**
 * Deterministic training batches: the order of epoch e is a shuffle seeded by (seed, e); the crop, flip and
 * augmentation of the i-th image of epoch e are seeded by (seed, e, i). Any step can therefore be rebuilt
 * exactly after a restart, which is what makes resumed runs identical to uninterrupted ones.
 */
export class BatchSource {
  private readonly cache = new Map<string, RgbImage>()
  private cachedBytes = 0
  private readonly orders = new Map<number, number[]>()

  constructor(
    readonly images: readonly LabelledImage[],
    private readonly options: BatchSourceOptions,
  ) {
    if (images.length < options.batchSize) {
      throw new Error(`batch size ${options.batchSize} is larger than the training set (${images.length} images)`)
    }
  }

  /** Full batches per epoch (the remainder of each shuffled epoch is dropped). */
  get stepsPerEpoch(): number {
    return Math.floor(this.images.length / this.options.batchSize)
  }

  /** Batch `index` (0-based) of epoch `epoch` (0-based). */
  async batch(epoch: number, index: number): Promise<Batch> {
    const { batchSize, input } = this.options
    const order = this.order(epoch)
    const plane = input.height * input.width * 3
    const images = new Float32Array(batchSize * plane)
    const labels: number[] = []
    const items = Array.from({ length: batchSize }, (_, i) => index * batchSize + i)
    const prepared = await Promise.all(
      items.map(async (position) => {
        const image = this.images[order[position]!]!
        const random = new SeededRandom(deriveSeed(this.options.seed, epoch, position))
        const decoded = await this.decode(image.path)
        const crop = await evidenceCrop(decoded, input, random)
        return { image, pixels: await applyAugmentations(crop, this.options.augmentations, random) }
      }),
    )
    prepared.forEach(({ image, pixels }, i) => {
      normaliseInto(pixels, input, images, i * plane)
      labels.push(image.label)
    })
    return { images, labels }
  }

  private order(epoch: number): number[] {
    let order = this.orders.get(epoch)
    if (!order) {
      order = new SeededRandom(deriveSeed(this.options.seed, epoch, 0x5eed)).shuffle(this.images.map((_, i) => i))
      this.orders.clear()
      this.orders.set(epoch, order)
    }
    return order
  }

  private async decode(path: string): Promise<RgbImage> {
    const cached = this.cache.get(path)
    if (cached) return cached
    const decoded = await decodeForTraining(path, this.options.input, { jpegAlignQuality: this.options.jpegAlignQuality })
    if (this.cachedBytes + decoded.data.byteLength <= (this.options.cacheBytes ?? 1 << 30)) {
      this.cache.set(path, decoded)
      this.cachedBytes += decoded.data.byteLength
    }
    return decoded
  }
}
