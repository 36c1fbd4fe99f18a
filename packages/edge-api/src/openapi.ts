import {
  ApiKeyListResponse,
  CancelExperimentResponse,
  ContentCredentials,
  CreateApiKeyRequest,
  CreatedApiKey,
  CreateExperimentResponse,
  DetectForm,
  DetectJobAccepted,
  DetectJobStatus,
  DetectUrlBatch,
  DatasetListResponse,
  DetectionsPage,
  DetectResponse,
  DETECT_BATCH_MAX_IMAGES,
  ERROR_STATUS,
  type ErrorCode,
  ErrorResponse,
  ExperimentDetail,
  ExperimentListResponse,
  ExperimentProgressEvent,
  ExperimentSpec,
  HealthResponse,
  ModelDetail,
  ModelsResponse,
  RevokedApiKey,
} from '@genimage/shared'
import { z } from 'zod'
import type { EdgeConfig } from './config.ts'
import type { ApiRoute } from './routes/api-routes.ts'

type JsonSchema = Record<string, unknown>

/** A contract as an OpenAPI 3.1 schema (JSON Schema 2020-12, which 3.1 adopts), without the `$schema` marker. */
export function contractSchema(contract: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(contract, { io }) as JsonSchema
  return schema
}

/** The contracts the document names under `components.schemas`; request bodies are described as input. */
export const COMPONENTS = {
  DetectForm: { contract: DetectForm, io: 'input' },
  DetectResponse: { contract: DetectResponse },
  DetectJobAccepted: { contract: DetectJobAccepted },
  DetectJobStatus: { contract: DetectJobStatus },
  DetectUrlBatch: { contract: DetectUrlBatch, io: 'input' },
  /** Also inside each DetectResponse image (`content_credentials`); named here so integrations can refer to it. */
  ContentCredentials: { contract: ContentCredentials },
  ModelsResponse: { contract: ModelsResponse },
  ModelDetail: { contract: ModelDetail },
  DetectionsPage: { contract: DetectionsPage },
  HealthResponse: { contract: HealthResponse },
  ErrorResponse: { contract: ErrorResponse },
  ExperimentSpec: { contract: ExperimentSpec, io: 'input' },
  ExperimentDetail: { contract: ExperimentDetail },
  CreateExperimentResponse: { contract: CreateExperimentResponse },
  ExperimentListResponse: { contract: ExperimentListResponse },
  CancelExperimentResponse: { contract: CancelExperimentResponse },
  ExperimentProgressEvent: { contract: ExperimentProgressEvent },
  DatasetListResponse: { contract: DatasetListResponse },
  CreateApiKeyRequest: { contract: CreateApiKeyRequest, io: 'input' },
  CreatedApiKey: { contract: CreatedApiKey },
  ApiKeyListResponse: { contract: ApiKeyListResponse },
  RevokedApiKey: { contract: RevokedApiKey },
} satisfies Record<string, { contract: z.ZodType; io?: 'input' | 'output' }>

export type ComponentName = keyof typeof COMPONENTS

/** A reference to a component schema. */
export const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` })
const json = (name: ComponentName) => ({ 'application/json': { schema: ref(name) } })

function errorResponses(codes: readonly ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code])
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [String(status), { description: `error: ${list.join(', ')}`, content: json('ErrorResponse') }]),
  )
}

/** The multipart body of `POST /v1/detect`: `image` file parts within this deployment's limits, and the DetectForm fields. */
export function detectUploadSchema(config: EdgeConfig): JsonSchema {
  const form = contractSchema(DetectForm, 'input') as { properties: Record<string, unknown> }
  return {
    type: 'object',
    properties: {
      image: {
        type: 'array',
        maxItems: config.maxImagesPerRequest,
        items: { type: 'string', contentMediaType: 'application/octet-stream' },
        description:
          `JPEG, PNG, WebP, GIF, AVIF or TIFF; at most ${config.maxImagePixels} pixels each, ${config.maxRequestBytes} bytes in all. ` +
          `Async: up to ${DETECT_BATCH_MAX_IMAGES} images (\`image\` parts and repeated \`url\` fields) in ${config.maxBatchRequestBytes} bytes, ` +
          'and an image refused by its bytes is a failed item of the job, not a refused request',
      },
      ...form.properties,
      ...asyncDetectFields(),
    },
  }
}

/** The form fields only an async detect reads: more images, several URLs and the callback. */
function asyncDetectFields(): Record<string, JsonSchema> {
  return {
    callback_url: {
      type: 'string',
      maxLength: 2048,
      description: 'async only: where the finished job is POSTed, signed; private hosts only when listed in CALLBACK_ALLOWED_HOSTS',
    },
  }
}

/** One route as an OpenAPI operation: `:name` path segments become required string parameters. */
function operation(route: ApiRoute, config: EdgeConfig): Record<string, unknown> {
  const parameters: Record<string, unknown>[] = [...route.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }))
  if (route.query) {
    const query = contractSchema(route.query, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] }
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      const { description, ...rest } = schema
      parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema: rest, ...(description ? { description } : {}) })
    }
  }
  const { request } = route
  const content =
    request &&
    ('multipart' in request
      ? { 'multipart/form-data': { schema: request.multipart(config) }, ...(request.json ? json(request.json) : {}) }
      : json(request.json))
  const responses = Object.fromEntries(
    Object.entries(route.responses).map(([status, { description, json: body, content }]) => [
      status,
      { description, ...(body ? { content: json(body) } : content ? { content } : {}) },
    ]),
  )
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.scope === 'public' ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(content ? { requestBody: { required: true, content } } : {}),
    responses: { ...responses, ...errorResponses(route.errors ?? []) },
  }
}

/**
 * The public API as an OpenAPI 3.1 document, generated from the route table the app is wired from, with every
 * schema generated from the zod contract that the edge and its clients validate with, so it cannot drift from the code.
 */
export function openApiDocument(config: EdgeConfig, routes: readonly ApiRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, '{$1}')
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route, config) }
  }
  const schemas = Object.fromEntries(
    Object.entries(COMPONENTS).map(([name, component]) => [name, contractSchema(component.contract, 'io' in component ? component.io : 'output')]),
  )
  return {
    openapi: '3.1.0',
    info: {
      title: 'GenImage detection API',
      version: '1',
      description: 'Scores images for being AI-generated with detectors trained and evaluated on the GenImage benchmark.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an API key from `npx genimage keys create`' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
      schemas,
    },
    security: config.apiKeys === 'optional' ? [] : [{ bearer: [] }, { apiKey: [] }],
    paths,
  }
}
