import { resolve } from 'node:path'
import { MAKE_MODEL_COMMANDS } from '@genimage/shared'
import { serve } from '@hono/node-server'
import sharp from 'sharp'
import type { RunnerConfig } from '../config.ts'
import { scaledJpegDecoder } from '@genimage/imaging'
import type { BatcherOptions } from '../inference/batcher.ts'
import { createContentCredentialsReader, readTrustAnchors } from '../provenance/content-credentials.ts'
import { type LoadedModel, loadModelRepository, type ModelRepository } from '../repository/model-repository.ts'
import { watchModelRepository } from '../repository/model-watcher.ts'
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
  /** Rescans the model directory now (it is also rescanned every `modelRescanMs` and on file-system notices). */
  rescanModels(): Promise<void>
}

export interface StartRunnerOptions {
  log?: Log
  /** How often the model directory is rescanned for added, changed and removed model folders (default 2000 ms). */
  modelRescanMs?: number
  /** Jobs this runner holds; given back on shutdown. The job worker plugs in here. */
  claimedWork?: ClaimedWork
}

/** The command that puts a detector in the model directory when there is none. */
export const NO_MODEL_HINT = `no models in the model directory; ${MAKE_MODEL_COMMANDS}`

/**
 * One model's part of the start-up line: the provider it runs on (with the WebGPU adapter), its batching, and why
 * each provider before it was skipped, e.g. `npr-tiny on cpu, batch ≤ 8 within 5 ms (cuda skipped: …; webgpu skipped: …)`.
 */
export function servingLine(model: LoadedModel, batch: BatcherOptions): string {
  const adapter = model.adapter ? ` (${model.adapter})` : ''
  const skipped = model.skipped.length > 0 ? ` (${model.skipped.map((s) => `${s.provider} skipped: ${s.reason}`).join('; ')})` : ''
  return `${model.card.name} on ${model.provider}${adapter}, batch ≤ ${batch.maxBatchSize} within ${batch.maxQueueDelayMs} ms${skipped}`
}

/** Loads the model directory and serves the OIP v2 API until closed. */
export async function startRunner(config: RunnerConfig, options: StartRunnerOptions = {}): Promise<RunningRunner> {
  const log = options.log ?? jsonLog('runner', { runner: config.name })
  if (config.sharpConcurrency !== undefined) sharp.concurrency(config.sharpConcurrency)
  const modelDir = resolve(config.modelDir)
  const credentials = config.contentCredentials ?? { readTimeoutMs: 2_000 }
  const trustAnchorsPem = credentials.trustAnchorsPath ? await readTrustAnchors(credentials.trustAnchorsPath) : undefined
  const loadOptions = {
    providers: config.providers,
    maxPixels: config.maxPixels,
    intraOpThreads: config.intraOpThreads,
    allowSpinning: config.allowSpinning,
    forceWebGpu: config.forceWebGpu,
    log: (msg: string) => log({ msg }),
  }
  const repository = await loadModelRepository(modelDir, loadOptions)
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
    contentCredentials: createContentCredentialsReader({ trustAnchorsPem, timeoutMs: credentials.readTimeoutMs }),
    ...(config.token ? { token: config.token, metricsWithoutToken: config.metricsWithoutToken === true } : {}),
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
  const models = [...repository.models.values()]
  const batchOf = (model: LoadedModel) => serving.batchByProvider?.[model.provider] ?? serving.batch
  log({
    msg: `runner ${config.name} listening on ${url} with ${models.length} model(s)${models.map((m) => `; ${servingLine(m, batchOf(m))}`).join('')}`,
    models: models.map((m) => ({ name: m.card.name, provider: m.provider, adapter: m.adapter, skipped: m.skipped, batch: batchOf(m) })),
    decode_concurrency: serving.decodeConcurrency,
    sharp_concurrency: sharp.concurrency(),
    uv_threadpool_size: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    jpeg_decoder: scaledJpegDecoder().reason,
    c2pa_trust_anchors: credentials.trustAnchorsPath ?? 'none: every C2PA signer is reported untrusted',
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
    await watcher.close()
    await runnerApp.close()
    log({ msg: 'runner stopped' })
  }
  const watcher = watchModelRepository(repository, modelDir, {
    ...loadOptions,
    intervalMs: options.modelRescanMs,
    onRemoved: (model) => runnerApp.retireModel(model),
  })
  return {
    rescanModels: () => watcher.rescan(),
    url,
    repository,
    metrics,
    close: () => (closing ??= close()),
  }
}
