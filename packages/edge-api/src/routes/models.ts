import { MAKE_MODEL_COMMANDS, type ModelsResponse } from '@genimage/shared'
import type { Handler } from 'hono'
import type { AppEnv } from '../app-env.ts'
import type { AppDeps } from '../app.ts'

/** The command that produces a servable model, shown when no runner serves any. */
export const NO_MODELS_HINT = `No detector is loaded. Put a model folder in the runner's model directory: ${MAKE_MODEL_COMMANDS}; then restart the runner.`

/** `GET /v1/models`: every model a ready runner serves, with its card's facts and the provider each runner runs it on. */
export function listModels(deps: Pick<AppDeps, 'runners'>): Handler<AppEnv> {
  return async function listModels(c) {
    const served = await deps.runners.models()
    const body: ModelsResponse = {
      models: served.map(({ metadata, runners, servedBy }) => {
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
        }
      }),
      ...(served.length === 0 ? { hint: NO_MODELS_HINT } : {}),
    }
    return c.json(body)
  }
}
