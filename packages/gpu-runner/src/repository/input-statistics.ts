import type { ImageTransform } from '@genimage/imaging'
import { channelStatistics, type InputConfig } from '@genimage/shared'

const statisticsByImage = new WeakMap<Uint8Array, number[]>()

/**
 * Wraps a model's transform so that each encoded image it turns into a tensor leaves behind the colour statistics
 * of the pixels the model sees ({@link channelStatistics}), read back with {@link inputStatisticsOf}.
 */
export function withInputStatistics(transform: ImageTransform, input: InputConfig): ImageTransform {
  const measured = async (encoded: Uint8Array) => {
    const tensor = await transform(encoded)
    statisticsByImage.set(encoded, channelStatistics(tensor, input))
    return tensor
  }
  return Object.assign(measured, { recycle: (tensor: Float32Array) => transform.recycle(tensor) })
}

/** R, G, B means then stds of the pixels the model saw for this encoded image, once its transform ran. */
export function inputStatisticsOf(encoded: Uint8Array): number[] | undefined {
  return statisticsByImage.get(encoded)
}
