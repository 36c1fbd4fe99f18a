import { MAKE_MODEL_COMMANDS, type ModelDetail, type ModelSummary, type ModelsResponse } from '@genimage/shared'
import type { Handler } from 'hono'
import type { AppEnv } from '../app-env.ts'
import type { AppDeps } from '../app.ts'
import { ApiError } from '../errors.ts'
import type { ServedModel } from '../runners/runner-pool.ts'

/** The command that produces a servable model, shown when no runner serves any. */
export const NO_MODELS_HINT = `No detector is loaded. Put a model folder in the runner's model directory: ${MAKE_MODEL_COMMANDS}; then restart the runner.`

/** Where a model's card is on this API: `/v1/models/{name}` (the name URL-encoded). */
export function modelDocsPath(name: string): string {
  return `/v1/models/${encodeURIComponent(name)}`
}

function modelSummary({ metadata, runners, servedBy }: ServedModel): ModelSummary {
  const card = metadata.card
  return {
    name: metadata.name,
    version: card?.version ?? metadata.versions?.[0] ?? 'unknown',
    task: card?.task ?? 'binary',
    architecture: card?.architecture ?? 'unknown',
    labels: card?.labels ?? [],
    input: { height: card?.input.height ?? 0, width: card?.input.width ?? 0 },
    provenance: card?.provenance.kind ?? 'unknown',
    description: card?.description ?? '',
    metrics: (card?.metrics ?? []).map((m) => ({ dataset: m.dataset, split: m.split, accuracy: m.accuracy })),
    runners,
    served_by: servedBy,
    docs: modelDocsPath(metadata.name),
  }
}

/** `GET /v1/models`: every model a ready runner serves, with its card's facts and the provider each runner runs it on. */
export function listModels(deps: Pick<AppDeps, 'runners'>): Handler<AppEnv> {
  return async function listModels(c) {
    const served = await deps.runners.models()
    const body: ModelsResponse = {
      models: served.map(modelSummary),
      ...(served.length === 0 ? { hint: NO_MODELS_HINT } : {}),
    }
    return c.json(body)
  }
}

/**
 * `GET /v1/models/:name`: one served model's summary, its whole card and the runners serving it; 404 `not_found`
 * for a name no ready runner serves.
 */
export function getModel(deps: Pick<AppDeps, 'runners'>): Handler<AppEnv> {
  return async function getModel(c) {
    const name = c.req.param('name') ?? ''
    const served = (await deps.runners.models()).find((model) => model.metadata.name === name)
    if (!served) throw new ApiError('not_found', `no served model named ${JSON.stringify(name.slice(0, 200))}; GET /v1/models lists them`)
    const body: ModelDetail = { ...modelSummary(served), card: served.metadata.card ?? null }
    return c.json(body)
  }
}
