import { decodeBytesTensor, type ErrorCode, IMAGE_BYTES_INPUT, type InferRequest, type ModelMetadata, PROBABILITIES_OUTPUT } from '@genimage/shared'
import type { LoadedModel } from '../repository/model-repository.ts'

/** An error the runner answers with its stable code (and the offending image's index, or a retry hint). */
export class RunnerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly image?: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(message)
  }
}

/** What an infer request carries: encoded images (BYTES) or preprocessed tensors (FP32), one per image. */
export type InferInputs = { kind: 'images'; images: Uint8Array[] } | { kind: 'tensors'; tensors: Float32Array[] }

/** Validates an infer request's single input against the model and splits it into per-image items. */
export function readInferInputs(model: LoadedModel, inputs: InferRequest['inputs'], binary: Map<string, Uint8Array>): InferInputs {
  const input = inputs[0]
  if (!input || inputs.length !== 1) throw new RunnerError('invalid_request', 'send exactly one input tensor')
  if (input.name === IMAGE_BYTES_INPUT) {
    if (input.datatype !== 'BYTES' || input.shape.length !== 1) {
      throw new RunnerError('invalid_request', `${IMAGE_BYTES_INPUT} must be BYTES of shape [n]`)
    }
    const count = input.shape[0] as number
    const bytes = binary.get(input.name)
    let images: Uint8Array[]
    if (bytes) {
      try {
        images = decodeBytesTensor(bytes, count)
      } catch (error) {
        throw new RunnerError('invalid_request', (error as Error).message)
      }
    } else {
      if (!input.data || input.data.length !== count || input.data.some((d) => typeof d !== 'string')) {
        throw new RunnerError('invalid_request', `${IMAGE_BYTES_INPUT} JSON data must be ${count} base64 strings`)
      }
      images = (input.data as string[]).map((d) => Uint8Array.from(Buffer.from(d, 'base64')))
    }
    if (count === 0) throw new RunnerError('missing_image', 'no image in the request')
    const empty = images.findIndex((image) => image.byteLength === 0)
    if (empty >= 0) throw new RunnerError('missing_image', 'image is empty', empty)
    return { kind: 'images', images }
  }
  if (input.name === model.card.input.name && input.datatype === 'FP32') {
    const { height, width, layout } = model.card.input
    const expected = layout === 'NCHW' ? [3, height, width] : [height, width, 3]
    const [n, ...rest] = input.shape
    if (n === undefined || n < 1 || rest.join() !== expected.join()) {
      throw new RunnerError('invalid_request', `${input.name} must have shape [n, ${expected.join(', ')}]`)
    }
    const values = binary.get(input.name)
    if (values && values.byteLength % 4 !== 0) throw new RunnerError('invalid_request', `${input.name} binary data is not a whole number of FP32 values`)
    const flat = values ? new Float32Array(values.slice().buffer) : Float32Array.from((input.data ?? []) as number[])
    const per = 3 * height * width
    if (flat.length !== n * per) throw new RunnerError('invalid_request', `${input.name} has ${flat.length} values, expected ${n * per}`)
    return { kind: 'tensors', tensors: Array.from({ length: n }, (_, i) => flat.subarray(i * per, (i + 1) * per)) }
  }
  throw new RunnerError('invalid_request', `unknown input ${input.name}; send ${IMAGE_BYTES_INPUT} (BYTES) or ${model.card.input.name} (FP32)`)
}

/** OIP v2 model metadata, with the model card as an extension field. */
export function modelMetadata(model: LoadedModel): ModelMetadata {
  const { card } = model
  const { height, width, layout } = card.input
  return {
    name: card.name,
    versions: [card.version],
    platform: 'onnxruntime_onnx',
    inputs: [
      { name: IMAGE_BYTES_INPUT, datatype: 'BYTES', shape: [-1] },
      { name: card.input.name, datatype: 'FP32', shape: layout === 'NCHW' ? [-1, 3, height, width] : [-1, height, width, 3] },
    ],
    outputs: [{ name: PROBABILITIES_OUTPUT, datatype: 'FP32', shape: [-1, card.labels.length] }],
    card,
  }
}
