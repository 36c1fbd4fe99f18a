import { z } from 'zod'
import { ContentCredentials } from './content-credentials.ts'
import { ModelCard } from './model-card.ts'

/**
 * The runner API: a subset of the Open Inference Protocol v2 (KServe / Triton), so that a Triton or KServe
 * server holding the same ONNX model can join the pool.
 */

/** `GET /v2/health/ready`: 200 with `ready: true` when the server takes inference requests (503 while draining). */
export const ServerReady = z.object({ ready: z.boolean() })
export type ServerReady = z.infer<typeof ServerReady>

export const TensorDatatype = z.enum(['BOOL', 'UINT8', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'])
export type TensorDatatype = z.infer<typeof TensorDatatype>

export const TensorMetadata = z.object({
  name: z.string(),
  datatype: TensorDatatype,
  /** -1 marks a variable dimension. */
  shape: z.array(z.number().int()),
})
export type TensorMetadata = z.infer<typeof TensorMetadata>

/** Where a runner runs a model: its onnxruntime execution provider, and the WebGPU adapter when that is `webgpu`. */
export const ModelExecution = z.object({
  /** `cpu`, `webgpu`, `cuda`. */
  provider: z.string(),
  /** One line naming the adapter, e.g. `NVIDIA H100 80GB HBM3`; `(software)` marks a CPU implementation such as lavapipe. */
  adapter: z.string().optional(),
})
export type ModelExecution = z.infer<typeof ModelExecution>

/** `GET /v2/models/{name}`. `card` and `execution` are this project's extensions; foreign OIP servers omit them. */
export const ModelMetadata = z.object({
  name: z.string(),
  versions: z.array(z.string()).optional(),
  platform: z.string(),
  inputs: z.array(TensorMetadata),
  outputs: z.array(TensorMetadata),
  card: ModelCard.optional(),
  execution: ModelExecution.optional(),
})
export type ModelMetadata = z.infer<typeof ModelMetadata>

/** `GET /v2/models` (repository index), the list of models a runner serves. */
export const ModelIndex = z.object({
  models: z.array(z.object({ name: z.string(), version: z.string().optional(), state: z.string() })),
})
export type ModelIndex = z.infer<typeof ModelIndex>

const Parameters = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))

/**
 * One input tensor. With the binary-data extension, `data` is omitted and `parameters.binary_data_size`
 * gives the byte length of this tensor's bytes after the JSON header. BYTES elements in binary form are each
 * a 4-byte little-endian length followed by the bytes (here: one encoded image per element).
 */
export const InferInput = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  datatype: TensorDatatype,
  parameters: Parameters.optional(),
  data: z.array(z.union([z.number(), z.string()])).optional(),
})
export type InferInput = z.infer<typeof InferInput>

export const InferRequest = z.object({
  id: z.string().optional(),
  parameters: Parameters.optional(),
  inputs: z.array(InferInput).min(1),
  outputs: z.array(z.object({ name: z.string(), parameters: Parameters.optional() })).optional(),
})
export type InferRequest = z.infer<typeof InferRequest>

export const InferOutput = z.object({
  name: z.string(),
  shape: z.array(z.number().int()),
  datatype: TensorDatatype,
  parameters: Parameters.optional(),
  data: z.array(z.number()),
})
export type InferOutput = z.infer<typeof InferOutput>

export const InferResponse = z.object({
  model_name: z.string(),
  model_version: z.string().optional(),
  id: z.string().optional(),
  parameters: Parameters.optional(),
  outputs: z.array(InferOutput),
  /**
   * This project's extension: each encoded image's C2PA content credentials, in input order, from runners that read
   * them (foreign OIP servers omit it; the edge then answers `content_credentials: null`).
   */
  content_credentials: z.array(ContentCredentials).optional(),
})
export type InferResponse = z.infer<typeof InferResponse>

/**
 * The body of every runner error answer. OIP's error body is `{ error }`; this project adds a stable `code`
 * (an `ErrorCode` from its own runners; foreign OIP servers may send none) and, when one image of a batch is
 * at fault, its index.
 */
export const InferError = z.object({ error: z.string(), code: z.string().optional(), image: z.number().int().nonnegative().optional() })
export type InferError = z.infer<typeof InferError>

/** Header carrying the JSON header length of a binary-data OIP request or response. */
export const INFERENCE_HEADER_LENGTH = 'inference-header-content-length'

/** Names this project's runners use for the encoded-image input and the probability output. */
export const IMAGE_BYTES_INPUT = 'image_bytes'
export const PROBABILITIES_OUTPUT = 'probabilities'
