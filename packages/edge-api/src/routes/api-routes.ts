import { type ApiKeyScope, DetectionsQuery, DetectJobQuery, DetectQuery, ErrorCode } from '@genimage/shared'
import type { H } from 'hono/types'
import type { z } from 'zod'
import type { AppEnv } from '../app-env.ts'
import type { ResolvedDeps } from '../app.ts'
import type { EdgeConfig } from '../config.ts'
import { type ComponentName, detectUploadSchema, openApiDocument, ref } from '../openapi.ts'
import { listDatasets } from './datasets.ts'
import { detectHandlers } from './detect.ts'
import { asyncNotSupported, getDetectJob } from './detect-jobs.ts'
import { listDetections } from './detections.ts'
import { cancelExperiment, createExperiment, followExperiment, getExperiment, listExperiments } from './experiments.ts'
import { adminKeyOnly, createKey, listKeys, revokeKey } from './keys.ts'
import { getModel, listModels } from './models.ts'
import { health, metrics } from './observability.ts'

/**
 * One route of the public API: how it is matched, guarded and served, and how `GET /openapi.json` describes it.
 * The app is wired from the same table the OpenAPI document is generated from.
 */
export interface ApiRoute {
  operationId: string
  method: 'GET' | 'POST'
  /** A Hono pattern; `:name` segments are documented as path parameters. */
  path: string
  summary: string
  /** The API key scope the route needs (`apiKeyAuth`), or `public` for none. */
  scope: ApiKeyScope | 'public'
  /** Whether the key's per-minute limit applies (`keyRateLimit`). */
  rateLimited?: boolean
  /** Query-string parameters, documented from this contract's input schema. */
  query?: z.ZodType
  /** The request body: a JSON component, or a multipart schema built from the deployment's limits. */
  request?: { json: ComponentName } | { multipart: (config: EdgeConfig) => Record<string, unknown>; json?: ComponentName }
  /** Answers other than errors, by status: a JSON component or literal OpenAPI content. */
  responses: Record<string, { description: string; json?: ComponentName; content?: Record<string, unknown> }>
  /** Error codes documented for the route (as `ErrorResponse`, grouped by status). */
  errors?: readonly ErrorCode[]
  /** The handlers after the guards; undefined where this deployment does not serve the route. */
  serve(deps: ResolvedDeps): H<AppEnv>[] | undefined
}

/** Detect can answer every error but `not_found`, `experiment_finished` (and `client_closed`, which only the log and metrics see). */
const DETECT_ERRORS = ErrorCode.options.filter((code) => code !== 'not_found' && code !== 'client_closed' && code !== 'experiment_finished')
const EXPERIMENT_ERRORS: readonly ErrorCode[] = ['invalid_request', 'unauthorized', 'forbidden', 'rate_limited', 'internal_error']
const ONE_EXPERIMENT_ERRORS: readonly ErrorCode[] = [...EXPERIMENT_ERRORS, 'not_found']
const CREATE_EXPERIMENT_ERRORS: readonly ErrorCode[] = [...EXPERIMENT_ERRORS, 'unsupported_media_type', 'payload_too_large']
const KEY_ERRORS: readonly ErrorCode[] = ['unauthorized', 'forbidden', 'rate_limited', 'internal_error']

/** The public API, in the order it is documented. */
export const API_ROUTES: readonly ApiRoute[] = [
  {
    operationId: 'detect',
    method: 'POST',
    path: '/v1/detect',
    summary:
      'Score one or more images with one model or several (repeat `model`; scope `detect`). With `?async=true` or `Prefer: respond-async`: ' +
      'a job of up to 1,000 images (multipart, or JSON `{ "urls": [...] }`), answered 202 and read at `GET /v1/detect/jobs/{id}`',
    scope: 'detect',
    rateLimited: true,
    query: DetectQuery,
    request: { multipart: detectUploadSchema, json: 'DetectUrlBatch' },
    responses: {
      '200': {
        description: 'scores per image, in upload order; a request naming several models adds `results`, one answer per model in the order named',
        json: 'DetectResponse',
      },
      '202': {
        description: 'async: the job is stored and its images spooled; `Location` names `GET /v1/detect/jobs/{id}`',
        json: 'DetectJobAccepted',
      },
    },
    errors: DETECT_ERRORS,
    serve: (deps) => detectHandlers(deps),
  },
  {
    operationId: 'getDetectJob',
    method: 'GET',
    path: '/v1/detect/jobs/:id',
    summary:
      "An async detect job: state, progress and one page of its images; once done, `result` is the sync answer for the page's scored images " +
      'and `failures` the images that could not be scored (scope `detect`; only the key that made it, or an admin key)',
    scope: 'detect',
    rateLimited: true,
    query: DetectJobQuery,
    responses: { '200': { description: 'the job and one page of its images', json: 'DetectJobStatus' } },
    errors: ['invalid_request', 'unauthorized', 'forbidden', 'rate_limited', 'not_found', 'async_not_supported'],
    serve: ({ detectJobs }) => (detectJobs ? [getDetectJob(detectJobs)] : [asyncNotSupported]),
  },
  {
    operationId: 'listModels',
    method: 'GET',
    path: '/v1/models',
    summary: 'Models served by ready runners (scope `detect`)',
    scope: 'detect',
    rateLimited: true,
    responses: { '200': { description: 'served models', json: 'ModelsResponse' } },
    errors: ['unauthorized', 'forbidden', 'rate_limited'],
    serve: (deps) => [listModels(deps)],
  },
  {
    operationId: 'getModel',
    method: 'GET',
    path: '/v1/models/:name',
    summary: 'One served model: its card (calibration, training profile, measured rates) and the runners serving it (scope `detect`)',
    scope: 'detect',
    rateLimited: true,
    responses: { '200': { description: 'the model', json: 'ModelDetail' } },
    errors: ['unauthorized', 'forbidden', 'rate_limited', 'not_found'],
    serve: (deps) => [getModel(deps)],
  },
  {
    operationId: 'listDetections',
    method: 'GET',
    path: '/v1/detections',
    summary: "Recorded detections, newest first, paged by cursor; the caller key's own, every key's for `admin`; never images (scope `detect`)",
    scope: 'detect',
    rateLimited: true,
    query: DetectionsQuery,
    responses: { '200': { description: 'one page and the cursor of the next', json: 'DetectionsPage' } },
    errors: ['invalid_request', 'unauthorized', 'forbidden', 'rate_limited'],
    serve: ({ store }) => [listDetections(store)],
  },
  {
    operationId: 'createExperiment',
    method: 'POST',
    path: '/v1/experiments',
    summary: 'Submit a GenImage protocol (table3, table4, table5, custom) as jobs for train runners (scope `experiments`)',
    scope: 'experiments',
    request: { json: 'ExperimentSpec' },
    responses: { '201': { description: 'the experiment as queued: its summary and run count', json: 'CreateExperimentResponse' } },
    errors: CREATE_EXPERIMENT_ERRORS,
    serve: ({ experiments, config }) => experiments && [createExperiment(experiments, config)],
  },
  {
    operationId: 'listExperiments',
    method: 'GET',
    path: '/v1/experiments',
    summary: "The caller's experiments, newest first; every key's for `admin` (scope `experiments`)",
    scope: 'experiments',
    responses: { '200': { description: 'experiments', json: 'ExperimentListResponse' } },
    errors: EXPERIMENT_ERRORS,
    serve: ({ experiments }) => experiments && [listExperiments(experiments)],
  },
  {
    operationId: 'getExperiment',
    method: 'GET',
    path: '/v1/experiments/:id',
    summary: 'One experiment: runs, state, progress and metrics (scope `experiments`)',
    scope: 'experiments',
    responses: { '200': { description: 'the experiment', json: 'ExperimentDetail' } },
    errors: ONE_EXPERIMENT_ERRORS,
    serve: ({ experiments }) => experiments && [getExperiment(experiments)],
  },
  {
    operationId: 'cancelExperiment',
    method: 'POST',
    path: '/v1/experiments/:id/cancel',
    summary: 'Cancel an experiment that has runs left; running jobs stop within one heartbeat (scope `experiments`)',
    scope: 'experiments',
    responses: { '200': { description: 'cancelled', json: 'CancelExperimentResponse' } },
    errors: [...ONE_EXPERIMENT_ERRORS, 'experiment_finished'],
    serve: ({ experiments }) => experiments && [cancelExperiment(experiments)],
  },
  {
    operationId: 'followExperiment',
    method: 'GET',
    path: '/v1/experiments/:id/events',
    summary: 'Progress as server-sent events, each `data:` line one ExperimentProgressEvent (scope `experiments`)',
    scope: 'experiments',
    responses: {
      '200': {
        description: 'event stream',
        content: { 'text/event-stream': { itemSchema: ref('ExperimentProgressEvent'), schema: { type: 'string' } } },
      },
    },
    errors: ONE_EXPERIMENT_ERRORS,
    serve: ({ experiments, config, log }) => experiments && [followExperiment(experiments, config, log)],
  },
  {
    operationId: 'listDatasets',
    method: 'GET',
    path: '/v1/datasets',
    summary: 'GenImage-layout datasets under DATASET_DIRS that an experiment may name as `dataRoot`, ready or building (scope `experiments`)',
    scope: 'experiments',
    responses: { '200': { description: 'datasets with their generators and image counts', json: 'DatasetListResponse' } },
    errors: ['unauthorized', 'forbidden', 'not_found', 'internal_error'],
    serve: ({ datasets, config }) => datasets && [listDatasets(datasets, config)],
  },
  {
    operationId: 'listKeys',
    method: 'GET',
    path: '/v1/keys',
    summary: 'API keys, newest first, revoked ones included; never their secrets (an `admin` key, also before keys are required)',
    scope: 'admin',
    rateLimited: true,
    responses: { '200': { description: 'key summaries', json: 'ApiKeyListResponse' } },
    errors: KEY_ERRORS,
    serve: ({ keys }) => keys.manage && [adminKeyOnly, listKeys(keys.manage)],
  },
  {
    operationId: 'createKey',
    method: 'POST',
    path: '/v1/keys',
    summary: 'Create an API key; the answer holds its secret, shown this once (an `admin` key)',
    scope: 'admin',
    rateLimited: true,
    request: { json: 'CreateApiKeyRequest' },
    responses: { '201': { description: 'the key and its secret', json: 'CreatedApiKey' } },
    errors: [...KEY_ERRORS, 'invalid_request', 'unsupported_media_type', 'payload_too_large'],
    serve: ({ keys }) => keys.manage && [adminKeyOnly, createKey(keys.manage)],
  },
  {
    operationId: 'revokeKey',
    method: 'POST',
    path: '/v1/keys/:id/revoke',
    summary: 'Revoke an API key; edges refuse it from the next request (an `admin` key)',
    scope: 'admin',
    rateLimited: true,
    responses: { '200': { description: 'the revoked key', json: 'RevokedApiKey' } },
    errors: [...KEY_ERRORS, 'not_found'],
    serve: ({ keys }) => keys.manage && [adminKeyOnly, revokeKey(keys.manage)],
  },
  {
    operationId: 'health',
    method: 'GET',
    path: '/healthz',
    summary: 'Database and runner pool health',
    scope: 'public',
    responses: {
      '200': { description: 'ok', json: 'HealthResponse' },
      '503': { description: 'degraded: no ready runner, no model or no database', json: 'HealthResponse' },
    },
    serve: (deps) => [health(deps)],
  },
  {
    operationId: 'metrics',
    method: 'GET',
    path: '/metrics',
    summary: 'Prometheus metrics of this edge instance (scope `metrics`, or METRICS_TOKEN, when keys are in use)',
    scope: 'metrics',
    responses: { '200': { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
    serve: (deps) => [metrics(deps)],
  },
  {
    operationId: 'openapi',
    method: 'GET',
    path: '/openapi.json',
    summary: 'This document',
    scope: 'public',
    responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
    serve: (deps) => {
      const document = openApiDocument(deps.config, API_ROUTES)
      return [(c) => c.json(document)]
    },
  },
]
