import { resolve } from 'node:path'
import { MAKE_MODEL_COMMANDS } from '@genimage/shared'
import { serve } from '@hono/node-server'
import sharp from 'sharp'
import type { RunnerConfig } from '../config.ts'
import { scaledJpegDecoder } from '@genimage/imaging'
import { loadModelRepository, type ModelRepository } from '../repository/model-repository.ts'
import { type Announcer, announceInRegistry } from './announce.ts'
import { type ClaimedWork, InflightTracker } from './drain.ts'
import { RunnerMetrics } from './metrics.ts'
import { jsonLog, type Log } from './request-log.ts'
import { createRunnerApp, DEFAULT_SERVING } from './runner-app.ts'

export interface RunningRunner {
  url: string
  repository: ModelRepository
  metrics: RunnerMetrics
  /**
   * Drains and stops: readiness turns 503 and new inference is refused with 503 `no_runner_available`
   * (the edge retries elsewhere), in-flight requests finish (up to the drain timeout), claimed work is
   * given back, the registry row is removed, then the server closes.
   */
  close(): Promise<void>
}

export interface StartRunnerOptions {
  log?: Log
  /** Jobs this runner holds; given back on shutdown. The job worker plugs in here. */
  claimedWork?: ClaimedWork
}

/** The command that puts a detector in the model directory when there is none. */
export const NO_MODEL_HINT = `no models in the model directory; ${MAKE_MODEL_COMMANDS}`

/** Loads the model directory and serves the OIP v2 API until closed. */
export async function startRunner(config: RunnerConfig, options: StartRunnerOptions = {}): Promise<RunningRunner> {
  const log = options.log ?? jsonLog('runner', { runner: config.name })
  if (config.sharpConcurrency !== undefined) sharp.concurrency(config.sharpConcurrency)
  const modelDir = resolve(config.modelDir)
  const repository = await loadModelRepository(modelDir, {
    providers: config.providers,
    maxPixels: config.maxPixels,
    intraOpThreads: config.intraOpThreads,
    allowSpinning: config.allowSpinning,
    log: (msg) => log({ msg }),
  })
  if (repository.models.size === 0) log({ level: 'warn', msg: `${NO_MODEL_HINT} (model directory: ${modelDir})` })
  let draining = false
  const metrics = new RunnerMetrics()
  const inflight = new InflightTracker()
  const serving = {
    ...(config.serving ?? DEFAULT_SERVING),
    sessionTuning: { intraOpThreads: config.intraOpThreads, allowSpinning: config.allowSpinning },
    releaseMainSessions: true,
  }
  const runnerApp = createRunnerApp({
    name: config.name,
    version: '0.1.0',
    repository,
    maxBodyBytes: config.maxBodyBytes,
    isDraining: () => draining,
    serving,
    metrics,
    inflight,
    log,
  })
  const server = await new Promise<ReturnType<typeof serve>>((done, fail) => {
    const s = serve({ fetch: runnerApp.app.fetch, port: config.port, hostname: config.host }, () => done(s))
    s.once('error', fail)
  }).catch(async (error: unknown) => {
    await runnerApp.close()
    throw error
  })
  const responses = new InflightTracker()
  server.on('request', (_req, res) => {
    responses.enter()
    res.once('close', () => responses.leave())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const url = `http://${config.host}:${port}`
  log({
    msg: `runner ${config.name} listening on ${url} with ${repository.models.size} model(s)`,
    batch: serving.batch,
    decode_concurrency: serving.decodeConcurrency,
    sharp_concurrency: sharp.concurrency(),
    uv_threadpool_size: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    jpeg_decoder: scaledJpegDecoder().reason,
  })
  let announcer: Announcer | undefined
  if (config.registry) {
    announcer = await announceInRegistry(
      {
        name: config.name,
        url: config.advertiseUrl ?? url,
        models: [...repository.models.keys()],
        capabilities: config.capabilities,
        inflight: () => inflight.inflight,
        draining: () => draining,
      },
      config.registry,
      log,
    ).catch((error: unknown) => {
      log({ level: 'warn', msg: 'runner registry unavailable; serving without announcing', error: String(error) })
      return undefined
    })
  }
  let closing: Promise<void> | undefined
  const close = async () => {
    draining = true
    log({ msg: 'draining: refusing new work', inflight: inflight.inflight })
    await announcer?.drain()
    const idle = await responses.whenIdle(config.drainTimeoutMs)
    if (!idle) log({ level: 'warn', msg: `drain timeout after ${config.drainTimeoutMs} ms`, inflight: responses.inflight })
    await options.claimedWork?.giveBack()
    await announcer?.remove()
    await new Promise<void>((done) => {
      server.close(() => done())
      if ('closeAllConnections' in server) server.closeAllConnections()
    })
    await runnerApp.close()
    log({ msg: 'runner stopped' })
  }
  return {
    url,
    repository,
    metrics,
    close: () => (closing ??= close()),
  }
}
