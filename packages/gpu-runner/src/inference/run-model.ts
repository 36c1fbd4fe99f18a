import * as ort from 'onnxruntime-node'
import { isMainSessionReleased, type LoadedModel } from '../repository/model-repository.ts'

/** Runs a batch of preprocessed images and returns softmax probabilities, `labels.length` per image. */
export async function runModel(model: LoadedModel, images: readonly Float32Array[]): Promise<Float32Array> {
  if (isMainSessionReleased(model)) throw new Error(`${model.card.name}: its main-thread session was released; it runs on its inference worker`)
  const { height, width, layout } = model.card.input
  const perImage = 3 * height * width
  const batch = new Float32Array(perImage * images.length)
  images.forEach((image, i) => {
    if (image.length !== perImage) throw new RangeError(`image ${i} has ${image.length} values, expected ${perImage}`)
    batch.set(image, i * perImage)
  })
  const dims = layout === 'NCHW' ? [images.length, 3, height, width] : [images.length, height, width, 3]
  const feeds = { [model.card.input.name]: new ort.Tensor('float32', batch, dims) }
  const outputs = await model.session.run(feeds)
  const logits = outputs[model.card.output.name]
  if (!logits) throw new Error(`model produced no ${model.card.output.name} output`)
  const labels = model.card.labels.length
  if (logits.size !== labels * images.length) {
    throw new Error(`model output has ${logits.size} values, expected ${labels} per image`)
  }
  return softmaxRows(logits.data as Float32Array, labels)
}

/** Row-wise softmax of a [rows, width] matrix stored flat. */
export function softmaxRows(values: Float32Array, width: number): Float32Array {
  const out = new Float32Array(values.length)
  for (let row = 0; row < values.length; row += width) {
    let max = -Infinity
    for (let i = 0; i < width; i++) max = Math.max(max, values[row + i] as number)
    let sum = 0
    for (let i = 0; i < width; i++) {
      const e = Math.exp((values[row + i] as number) - max)
      out[row + i] = e
      sum += e
    }
    for (let i = 0; i < width; i++) out[row + i] = (out[row + i] as number) / sum
  }
  return out
}
