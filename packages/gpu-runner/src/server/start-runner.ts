import { resolve } from 'node:path'
import { serve } from '@hono/node-server'
import type { RunnerConfig } from '../config.ts'
import { loadModelRepository, type ModelRepository } from '../repository/model-repository.ts'
import { createRunnerApp } from './runner-app.ts'

export interface RunningRunner {
  url: string
  repository: ModelRepository
  /** Stops taking work, lets in-flight requests finish, then closes. */
  close(): Promise<void>
}

/** The command that puts a detector in the model directory when there is none. */
export const NO_MODEL_HINT =
  'no models in the model directory; put a model folder (model.onnx + card.json) there, ' +
  'e.g. `npx genimage models handmade --out models/npr-residual-handmade`'

/** Loads the model directory and serves the OIP v2 API until closed. */
export async function startRunner(config: RunnerConfig, log = defaultLog): Promise<RunningRunner> {
  const modelDir = resolve(config.modelDir)
  const repository = await loadModelRepository(modelDir, {
    providers: config.providers,
    maxPixels: config.maxPixels,
    intraOpThreads: config.intraOpThreads,
    log: (msg) => log({ msg }),
  })
  if (repository.models.size === 0) log({ level: 'warn', msg: `${NO_MODEL_HINT} (model directory: ${modelDir})` })
  let draining = false
  const app = createRunnerApp({
    name: config.name,
    version: '0.1.0',
    repository,
    maxBodyBytes: config.maxBodyBytes,
    isDraining: () => draining,
  })
  const server = await new Promise<ReturnType<typeof serve>>((done, fail) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => done(s))
    s.once('error', fail)
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const url = `http://${config.host}:${port}`
  log({ msg: `runner ${config.name} listening on ${url} with ${repository.models.size} model(s)` })
  return {
    url,
    repository,
    close: () =>
      new Promise<void>((done) => {
        draining = true
        server.close(() => done())
        if ('closeIdleConnections' in server) server.closeIdleConnections()
      }),
  }
}

function defaultLog(entry: { level?: string; msg: string }): void {
  console.error(JSON.stringify({ time: new Date().toISOString(), level: entry.level ?? 'info', component: 'runner', msg: entry.msg }))
}
