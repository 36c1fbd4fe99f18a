import {
  decodeBytesTensor,
  decodeInferRequest,
  ERROR_STATUS,
  type ErrorCode,
  IMAGE_BYTES_INPUT,
  INFERENCE_HEADER_LENGTH,
  InferBodyError,
  type InferResponse,
  type ModelIndex,
  type ModelMetadata,
  PROBABILITIES_OUTPUT,
} from '@genimage/shared'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { runModel } from '../inference/run-model.ts'
import { ImageDecodeError } from '../preprocess/transform.ts'
import type { LoadedModel, ModelRepository } from '../repository/model-repository.ts'

export interface RunnerAppDeps {
  name: string
  version: string
  repository: ModelRepository
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number
  /** While draining, the runner answers not-ready and refuses new inference. */
  isDraining?: () => boolean
}

class RunnerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly image?: number,
  ) {
    super(message)
  }
}

/** The runner's HTTP API: Open Inference Protocol v2 endpoints over the loaded model repository. */
export function createRunnerApp(deps: RunnerAppDeps): Hono {
  const app = new Hono()
  const draining = deps.isDraining ?? (() => false)

  app.onError((error, c) => {
    if (error instanceof RunnerError) {
      const body = { error: error.message, code: error.code, ...(error.image === undefined ? {} : { image: error.image }) }
      return c.json(body, ERROR_STATUS[error.code] as ContentfulStatusCode)
    }
    console.error(JSON.stringify({ level: 'error', msg: 'unhandled runner error', error: String(error) }))
    return c.json({ error: 'internal error', code: 'internal_error' }, 500)
  })
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}`, code: 'not_found' }, 404))

  app.get('/v2/health/live', (c) => c.json({ live: true }))
  app.get('/v2/health/ready', (c) => {
    const ready = !draining()
    return c.json({ ready }, ready ? 200 : 503)
  })
  app.get('/v2', (c) => c.json({ name: deps.name, version: deps.version, extensions: ['binary_tensor_data', 'model_repository'] }))

  const index = (): ModelIndex => ({
    models: [...deps.repository.models.values()].map((m) => ({ name: m.card.name, version: m.card.version, state: 'READY' })),
  })
  app.get('/v2/models', (c) => c.json(index()))
  app.post('/v2/repository/index', (c) => c.json(index().models))

  const model = (name: string): LoadedModel => {
    const found = deps.repository.models.get(name)
    if (!found) throw new RunnerError('model_not_found', `model ${name} is not served here`)
    return found
  }

  app.get('/v2/models/:name', (c) => c.json(metadata(model(c.req.param('name')))))
  app.get('/v2/models/:name/ready', (c) => {
    const found = deps.repository.models.get(c.req.param('name'))
    const ready = Boolean(found) && !draining()
    return c.json({ name: c.req.param('name'), ready }, ready ? 200 : 503)
  })

  app.post(
    '/v2/models/:name/infer',
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: () => {
        throw new RunnerError('payload_too_large', `request body is over ${deps.maxBodyBytes} bytes`)
      },
    }),
    async (c) => {
      if (draining()) throw new RunnerError('no_runner_available', 'runner is shutting down')
      const found = model(c.req.param('name'))
      const body = new Uint8Array(await c.req.arrayBuffer())
      let decoded: ReturnType<typeof decodeInferRequest>
      try {
        decoded = decodeInferRequest(body, c.req.header(INFERENCE_HEADER_LENGTH) ?? null)
      } catch (error) {
        if (error instanceof InferBodyError) throw new RunnerError('invalid_request', error.message)
        throw error
      }
      const started = performance.now()
      const tensors = await imagesToTensors(found, decoded.request.inputs, decoded.binary)
      const probabilities = await runModel(found, tensors)
      const response: InferResponse = {
        model_name: found.card.name,
        model_version: found.card.version,
        ...(decoded.request.id ? { id: decoded.request.id } : {}),
        parameters: { compute_ms: Math.round((performance.now() - started) * 100) / 100 },
        outputs: [
          {
            name: PROBABILITIES_OUTPUT,
            datatype: 'FP32',
            shape: [tensors.length, found.card.labels.length],
            data: Array.from(probabilities),
          },
        ],
      }
      return c.json(response)
    },
  )

  return app
}

async function imagesToTensors(
  model: LoadedModel,
  inputs: { name: string; shape: number[]; datatype: string; data?: (number | string)[] }[],
  binary: Map<string, Uint8Array>,
): Promise<Float32Array[]> {
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
    return Promise.all(
      images.map((image, i) =>
        model.transform(image).catch((error: unknown) => {
          if (error instanceof ImageDecodeError) throw new RunnerError(error.code, error.message, i)
          throw error
        }),
      ),
    )
  }
  if (input.name === model.card.input.name && input.datatype === 'FP32') {
    const { height, width, layout } = model.card.input
    const expected = layout === 'NCHW' ? [3, height, width] : [height, width, 3]
    const [n, ...rest] = input.shape
    if (n === undefined || n < 1 || rest.join() !== expected.join()) {
      throw new RunnerError('invalid_request', `${input.name} must have shape [n, ${expected.join(', ')}]`)
    }
    const values = binary.get(input.name)
    const flat = values
      ? new Float32Array(values.slice().buffer)
      : Float32Array.from((input.data ?? []) as number[])
    const per = 3 * height * width
    if (flat.length !== n * per) throw new RunnerError('invalid_request', `${input.name} has ${flat.length} values, expected ${n * per}`)
    return Array.from({ length: n }, (_, i) => flat.subarray(i * per, (i + 1) * per))
  }
  throw new RunnerError('invalid_request', `unknown input ${input.name}; send ${IMAGE_BYTES_INPUT} (BYTES) or ${model.card.input.name} (FP32)`)
}

function metadata(model: LoadedModel): ModelMetadata {
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
