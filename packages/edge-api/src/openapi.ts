import {
  CancelExperimentResponse,
  DetectForm,
  DetectResponse,
  ERROR_STATUS,
  type ErrorCode,
  ErrorResponse,
  ExperimentDetail,
  ExperimentListResponse,
  ExperimentProgressEvent,
  ExperimentSpec,
  HealthResponse,
  ModelsResponse,
} from '@genimage/shared'
import { z } from 'zod'
import type { EdgeConfig } from './config.ts'

type JsonSchema = Record<string, unknown>

/** A contract as an OpenAPI 3.1 schema (JSON Schema 2020-12, which 3.1 adopts), without the `$schema` marker. */
export function contractSchema(contract: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(contract, { io }) as JsonSchema
  return schema
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const json = (name: string) => ({ 'application/json': { schema: ref(name) } })

function errorResponses(codes: ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code])
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [String(status), { description: `error: ${list.join(', ')}`, content: json('ErrorResponse') }]),
  )
}

/**
 * The public API as an OpenAPI 3.1 document. Every schema is generated from the zod contract that the edge
 * and its clients validate with, so the document cannot drift from the code.
 */
export function openApiDocument(config: EdgeConfig): Record<string, unknown> {
  const form = contractSchema(DetectForm, 'input') as { properties: Record<string, unknown> }
  const detectErrors: ErrorCode[] = [
    'invalid_request',
    'missing_image',
    'unsupported_media_type',
    'payload_too_large',
    'image_too_large',
    'corrupt_image',
    'model_not_found',
    'no_runner_available',
    'runner_error',
    'queue_full',
    'unauthorized',
    'forbidden',
    'rate_limited',
    'url_not_allowed',
    'url_fetch_failed',
    'internal_error',
  ]
  const experimentErrors: ErrorCode[] = ['invalid_request', 'unauthorized', 'forbidden', 'rate_limited', 'internal_error']
  const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string' } }
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
      schemas: {
        DetectForm: contractSchema(DetectForm, 'input'),
        DetectResponse: contractSchema(DetectResponse),
        ModelsResponse: contractSchema(ModelsResponse),
        HealthResponse: contractSchema(HealthResponse),
        ErrorResponse: contractSchema(ErrorResponse),
        ExperimentSpec: contractSchema(ExperimentSpec, 'input'),
        ExperimentDetail: contractSchema(ExperimentDetail),
        ExperimentListResponse: contractSchema(ExperimentListResponse),
        CancelExperimentResponse: contractSchema(CancelExperimentResponse),
        ExperimentProgressEvent: contractSchema(ExperimentProgressEvent),
      },
    },
    security: config.apiKeys === 'optional' ? [] : [{ bearer: [] }, { apiKey: [] }],
    paths: {
      '/v1/detect': {
        post: {
          operationId: 'detect',
          summary: 'Score one or more images (scope `detect`)',
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  properties: {
                    image: {
                      type: 'array',
                      maxItems: config.maxImagesPerRequest,
                      items: { type: 'string', contentMediaType: 'application/octet-stream' },
                      description: `JPEG, PNG, WebP, GIF, AVIF or TIFF; at most ${config.maxImagePixels} pixels each, ${config.maxRequestBytes} bytes in all`,
                    },
                    ...form.properties,
                  },
                },
              },
            },
          },
          responses: { '200': { description: 'scores per image, in upload order', content: json('DetectResponse') }, ...errorResponses(detectErrors) },
        },
      },
      '/v1/models': {
        get: {
          operationId: 'listModels',
          summary: 'Models served by ready runners (scope `detect`)',
          responses: {
            '200': { description: 'served models', content: json('ModelsResponse') },
            ...errorResponses(['unauthorized', 'forbidden', 'rate_limited']),
          },
        },
      },
      '/v1/experiments': {
        post: {
          operationId: 'createExperiment',
          summary: 'Submit a GenImage protocol (table3, table4, table5, custom) as jobs for train runners (scope `experiments`)',
          requestBody: { required: true, content: json('ExperimentSpec') },
          responses: { '201': { description: 'the experiment and its runs, queued', content: json('ExperimentDetail') }, ...errorResponses(experimentErrors) },
        },
        get: {
          operationId: 'listExperiments',
          summary: 'Experiments, newest first (scope `experiments`)',
          responses: { '200': { description: 'experiments', content: json('ExperimentListResponse') }, ...errorResponses(experimentErrors) },
        },
      },
      '/v1/experiments/{id}': {
        get: {
          operationId: 'getExperiment',
          summary: 'One experiment: runs, state, progress and metrics (scope `experiments`)',
          parameters: [idParameter],
          responses: { '200': { description: 'the experiment', content: json('ExperimentDetail') }, ...errorResponses([...experimentErrors, 'not_found']) },
        },
      },
      '/v1/experiments/{id}/cancel': {
        post: {
          operationId: 'cancelExperiment',
          summary: 'Cancel an experiment; running jobs stop within one heartbeat (scope `experiments`)',
          parameters: [idParameter],
          responses: { '200': { description: 'cancelled', content: json('CancelExperimentResponse') }, ...errorResponses([...experimentErrors, 'not_found']) },
        },
      },
      '/v1/experiments/{id}/events': {
        get: {
          operationId: 'followExperiment',
          summary: 'Progress as server-sent events, each `data:` line one ExperimentProgressEvent (scope `experiments`)',
          parameters: [idParameter],
          responses: {
            '200': {
              description: 'event stream',
              content: { 'text/event-stream': { itemSchema: ref('ExperimentProgressEvent'), schema: { type: 'string' } } },
            },
            ...errorResponses([...experimentErrors, 'not_found']),
          },
        },
      },
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'Database and runner pool health',
          security: [],
          responses: {
            '200': { description: 'ok', content: json('HealthResponse') },
            '503': { description: 'degraded: no ready runner, no model or no database', content: json('HealthResponse') },
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics of this edge instance (scope `admin` when keys are in use)',
          responses: { '200': { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
  }
}
