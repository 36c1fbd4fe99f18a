import { resolve } from 'node:path'
import { type ExperimentProgressEvent, ExperimentProtocol, type ExperimentSpecInput } from '@genimage/shared'
import { findPaperTrainGenerator } from '@genimage/shared/protocols'
import { startTrainWorker } from '@genimage/gpu-runner/jobs'
import { TF_BACKEND_NAMES, type TfBackendName } from '@genimage/training/tf'
import { listGenerators } from '@genimage/training/train'
import cliProgress from 'cli-progress'
import { type Command, Option } from 'commander'
import { ApiCallError, ExperimentApi } from '../experiments/api-client.ts'

const list = (text: string | undefined) =>
  text
    ? text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined

function integer(text: string, flag: string, min = 1): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < min) throw new Error(`${flag} must be an integer ≥ ${min}, got "${text}"`)
  return value
}

/** Options every API-calling subcommand takes. */
function apiOptions(command: Command): Command {
  return command
    .option('--api <url>', 'edge API base URL', process.env.GENIMAGE_API_URL ?? 'http://127.0.0.1:8787')
    .option('--api-key <key>', 'API key with the experiments scope (default: $GENIMAGE_API_KEY)')
}

/** The API client from a subcommand's options. */
export function apiFrom(opts: { api: string; apiKey?: string }): ExperimentApi {
  return new ExperimentApi({ baseUrl: opts.api, apiKey: opts.apiKey ?? process.env.GENIMAGE_API_KEY })
}

const describeRun = (run: ExperimentProgressEvent['runs'][number]) =>
  `run ${String(run.index).padStart(2)} ${run.model} on ${run.trainOn.join('+')} s${run.seed}`

function runStatus(run: ExperimentProgressEvent['runs'][number]): string {
  const p = run.progress
  if (run.state !== 'running')
    return (
      run.state +
      (run.failureReason && run.state !== 'succeeded' ? `: ${run.failureReason}` : '') +
      (run.state === 'succeeded' ? ` (${run.metrics} metrics)` : '')
    )
  if (p.phase === 'evaluating') return `evaluating ${p.cellsDone}/${p.cellsTotal} cells`
  const retry = run.attempts > 1 ? ` attempt ${run.attempts}${p.resumedFromStep ? ` resumed@${p.resumedFromStep}` : ''}` : ''
  return `${p.phase === 'queued' ? 'starting' : p.phase} epoch ${p.epoch}/${p.epochs}${p.loss === null ? '' : ` loss ${p.loss.toFixed(3)}`}${p.etaSeconds === null ? '' : ` ETA ${Math.round(p.etaSeconds)}s`}${retry}`
}

/** Draws one bar per run on a terminal, or prints a line whenever a run's state or epoch changes. */
function progressView(json: boolean): { update(event: ExperimentProgressEvent): void; stop(): void } {
  if (json) return { update: (e) => console.log(JSON.stringify(e)), stop: () => {} }
  if (!process.stderr.isTTY) {
    const seen = new Map<string, string>()
    return {
      update(event) {
        for (const run of event.runs) {
          const key = `${run.state}|${run.progress.phase}|${run.progress.epoch}|${run.attempts}|${run.progress.cellsDone}`
          if (seen.get(run.id) === key) continue
          seen.set(run.id, key)
          console.error(`${describeRun(run)}: ${runStatus(run)}`)
        }
      },
      stop: () => {},
    }
  }
  const multibar = new cliProgress.MultiBar(
    { format: '{name} |{bar}| {value}/{total} {status}', hideCursor: true, clearOnComplete: false, gracefulExit: false },
    cliProgress.Presets.shades_classic,
  )
  const bars = new Map<string, cliProgress.SingleBar>()
  return {
    update(event) {
      for (const run of event.runs) {
        const total = Math.max(1, run.progress.totalSteps + run.progress.cellsTotal)
        const value = run.state === 'succeeded' ? total : run.progress.step + run.progress.cellsDone
        const payload = { name: describeRun(run), status: runStatus(run) }
        const bar = bars.get(run.id) ?? multibar.create(total, value, payload)
        bars.set(run.id, bar)
        bar.setTotal(total)
        bar.update(value, payload)
      }
    },
    stop: () => multibar.stop(),
  }
}

/** After this long with every run still queued, say that a train worker is needed. */
const NO_WORKER_HINT_MS = 15_000

/** Follows an experiment until it ends (Ctrl-C stops following, not the experiment); non-zero exit unless it succeeded. */
async function followExperiment(api: ExperimentApi, id: string, json: boolean): Promise<void> {
  const started = performance.now()
  const view = progressView(json)
  const controller = new AbortController()
  const onSignal = () => controller.abort()
  process.once('SIGINT', onSignal)
  try {
    let latest: ExperimentProgressEvent | undefined
    const hint = setTimeout(() => {
      if (latest?.runs.every((r) => r.state === 'queued' && r.attempts === 0)) {
        console.error("no train worker has claimed a run yet; start one beside the edge: npx genimage experiment worker --db <the edge's DATABASE_URL>")
      }
    }, NO_WORKER_HINT_MS)
    hint.unref()
    const last = await api.follow(
      id,
      (event) => {
        latest = event
        view.update(event)
      },
      { signal: controller.signal },
    )
    clearTimeout(hint)
    view.stop()
    if (controller.signal.aborted) {
      console.error(
        `stopped following; the experiment goes on. Follow again: npx genimage experiment follow ${id}; cancel: npx genimage experiment cancel ${id}`,
      )
      return
    }
    const seconds = (performance.now() - started) / 1000
    console.error(`${id} ${last?.state ?? 'unknown'} after ${seconds.toFixed(1)} s. Report: npx genimage report ${id}`)
    if (last?.state !== 'succeeded') process.exitCode = 1
  } finally {
    process.off('SIGINT', onSignal)
  }
}

/** `genimage experiment …`: submit GenImage protocols to the edge, follow, list, show and cancel them, or run a train worker. */
export function registerExperimentCommands(program: Command): void {
  const experiment = program.command('experiment').description('GenImage protocols (Table 3, 4, 5, custom) as jobs on the runner pool')

  apiOptions(
    experiment
      .command('run')
      .description('submit an experiment through the edge API and follow it with a progress bar per run')
      .argument('<protocol>', `one of ${ExperimentProtocol.options.join(', ')}`)
      .requiredOption('--models <names>', 'comma-separated zoo models, e.g. npr-tiny,resnet50-tiny')
      .requiredOption('--data <root>', 'dataset root as the runners see it: <root>/<Generator>/{train,val}/{ai,nature}')
      .option('--train-on <generators>', 'generator(s) to train on (table3/5 default: SD V1.4; required for custom when the root has none)')
      .option('--test-on <generators>', 'custom: test generators (default all)')
      .option('--degradations <ids>', 'custom: e.g. none,jpeg-65,blur-3,downscale-112')
      .option('--epochs <n>', 'epochs per run', '3')
      .option('--batch-size <n>', 'images per step', '16')
      .option('--seeds <list>', 'comma-separated seeds (one run per seed)', '0')
      .option('--limit-per-class <n>', 'at most n train images per generator and class')
      .option('--test-limit-per-class <n>', 'at most n test images per generator and class')
      .option('--debias [quality]', 'JPEG-align training images (default quality 96)')
      .option('--no-degrade-real', 'apply degradations to generated images only')
      .addOption(new Option('--interpolation <kind>', 'downscale resampling').choices(['nearest', 'bilinear', 'bicubic', 'lanczos3']).default('bilinear'))
      .option('--max-attempts <n>', 'attempts per run before it fails', '3')
      .option('--checkpoint-every <steps>', 'training steps between checkpoints', '20')
      .option('--name <name>', 'a name for the experiment')
      .option('--detach', 'submit and print the id without following')
      .option('--json', 'print progress events as JSON lines'),
  ).action(async (protocolText: string, opts: Record<string, string | boolean | undefined> & { api: string; apiKey?: string }) => {
    const protocol = ExperimentProtocol.safeParse(protocolText)
    if (!protocol.success) throw new Error(`unknown protocol "${protocolText}"; use one of ${ExperimentProtocol.options.join(', ')}`)
    const dataRoot = resolve(String(opts.data))
    const generators = await listGenerators(dataRoot)
    if (generators.length === 0) throw new Error(`no generator folders (<Generator>/train|val) under ${dataRoot}`)
    let trainOn = list(opts.trainOn as string | undefined)
    if (!trainOn && (protocol.data === 'table3' || protocol.data === 'table5') && !findPaperTrainGenerator(generators)) {
      trainOn = [generators[0]!]
      console.error(`${dataRoot} has no SD V1.4 subset; training on ${trainOn[0]} (choose with --train-on)`)
    }
    const spec: ExperimentSpecInput = {
      protocol: protocol.data,
      models: list(opts.models as string) ?? [],
      dataRoot,
      generators,
      ...(trainOn ? { trainOn } : {}),
      ...(opts.testOn ? { testOn: list(opts.testOn as string) } : {}),
      ...(opts.degradations ? { degradations: list(opts.degradations as string) } : {}),
      epochs: integer(String(opts.epochs), '--epochs'),
      batchSize: integer(String(opts.batchSize), '--batch-size'),
      seeds: (list(String(opts.seeds)) ?? ['0']).map((s) => integer(s, '--seeds', 0)),
      ...(opts.limitPerClass ? { limitPerClass: integer(String(opts.limitPerClass), '--limit-per-class') } : {}),
      ...(opts.testLimitPerClass ? { testLimitPerClass: integer(String(opts.testLimitPerClass), '--test-limit-per-class') } : {}),
      ...(opts.debias ? { debiasJpegQuality: opts.debias === true ? 96 : integer(String(opts.debias), '--debias') } : {}),
      degradeReal: opts.degradeReal !== false,
      interpolation: opts.interpolation as 'bilinear',
      maxAttempts: integer(String(opts.maxAttempts), '--max-attempts'),
      checkpointEvery: integer(String(opts.checkpointEvery), '--checkpoint-every'),
      ...(opts.name ? { name: String(opts.name) } : {}),
    }
    const api = apiFrom(opts)
    const created = await api.submit(spec).catch((error: unknown) => {
      if (error instanceof ApiCallError && error.code === 'invalid_request') throw new Error(`the experiment was refused: ${error.message}`)
      throw error
    })
    console.error(`submitted ${created.id}: ${created.protocol}, ${created.runDetails.length} run(s)`)
    if (opts.detach) {
      console.log(created.id)
      return
    }
    await followExperiment(api, created.id, Boolean(opts.json))
  })

  apiOptions(
    experiment
      .command('follow')
      .description('follow a running experiment with a progress bar per run')
      .argument('<id>')
      .option('--json', 'print progress events as JSON lines'),
  ).action(async (id: string, opts: { api: string; apiKey?: string; json?: boolean }) => followExperiment(apiFrom(opts), id, Boolean(opts.json)))

  apiOptions(experiment.command('list').description('list experiments, newest first').option('--json', 'print JSON')).action(
    async (opts: { api: string; apiKey?: string; json?: boolean }) => {
      const { experiments } = await apiFrom(opts).list()
      if (opts.json) return console.log(JSON.stringify(experiments, null, 2))
      if (experiments.length === 0) console.log('no experiments')
      for (const e of experiments) {
        const runs = Object.entries(e.runs)
          .filter(([, n]) => n > 0)
          .map(([s, n]) => `${n} ${s}`)
          .join(', ')
        console.log(`${e.id}  ${e.protocol.padEnd(6)}  ${e.state.padEnd(9)}  ${e.models.join(',')}  ${runs}  ${e.createdAt}${e.name ? `  ${e.name}` : ''}`)
      }
    },
  )

  apiOptions(
    experiment.command('show').description('show an experiment: runs, state, progress and metrics').argument('<id>').option('--json', 'print JSON'),
  ).action(async (id: string, opts: { api: string; apiKey?: string; json?: boolean }) => {
    const e = await apiFrom(opts).get(id)
    if (opts.json) return console.log(JSON.stringify(e, null, 2))
    console.log(`${e.id}  ${e.protocol}  ${e.state}  data ${e.spec.dataRoot}`)
    for (const run of e.runDetails) {
      console.log(`  ${describeRun({ ...run, metrics: run.metrics.length })}: ${runStatus({ ...run, metrics: run.metrics.length })}`)
      for (const m of run.metrics) console.log(`      ${m.testSet} ${m.degradation}: accuracy ${(100 * m.accuracy).toFixed(1)}% (n=${m.count})`)
    }
  })

  apiOptions(experiment.command('cancel').description('cancel an experiment; running jobs stop within one heartbeat').argument('<id>')).action(
    async (id: string, opts: { api: string; apiKey?: string }) => {
      const result = await apiFrom(opts).cancel(id)
      console.log(`${result.id} cancelled (${result.cancelledRuns} run(s) stopped or dequeued)`)
    },
  )

  experiment
    .command('worker')
    .description('run a train worker: claim experiment jobs from the database, train, export, evaluate (Ctrl-C hands the job back)')
    .option('--db <url>', "libSQL URL (the edge's DATABASE_URL)", process.env.DATABASE_URL ?? 'file:./data/genimage.db')
    .option('--artifacts <dir>', 'checkpoints and exported models; the same shared path on every runner', process.env.ARTIFACT_DIR ?? 'artifacts')
    .option('--name <worker>', 'lease identity (default <host>-<pid>)')
    .option('--lease-ms <ms>', 'lease length', '30000')
    .option('--heartbeat-ms <ms>', 'heartbeat period: progress writes and cancel checks (default a third of the lease, at most 2000)')
    .option('--poll-ms <ms>', 'wait between polls of an empty queue', '1000')
    .addOption(new Option('--backend <name>', 'tfjs backend to use first').choices([...TF_BACKEND_NAMES, 'auto']).default('auto'))
    .option('--threads <n>', 'threads for the wasm backend')
    .option('--providers <list>', 'onnxruntime execution providers for evaluation, in order', process.env.EXECUTION_PROVIDERS ?? 'cpu')
    .action(
      async (opts: {
        db: string
        artifacts: string
        name?: string
        leaseMs: string
        heartbeatMs?: string
        pollMs: string
        backend: string
        threads?: string
        providers: string
      }) => {
        const backends = opts.backend === 'auto' ? TF_BACKEND_NAMES : [opts.backend as TfBackendName, ...TF_BACKEND_NAMES.filter((b) => b !== opts.backend)]
        const running = await startTrainWorker({
          databaseUrl: opts.db,
          artifactRoot: opts.artifacts,
          worker: opts.name,
          leaseMs: integer(opts.leaseMs, '--lease-ms'),
          heartbeatMs: opts.heartbeatMs ? integer(opts.heartbeatMs, '--heartbeat-ms') : undefined,
          pollMs: integer(opts.pollMs, '--poll-ms'),
          backends,
          threads: opts.threads ? integer(opts.threads, '--threads') : undefined,
          providers: list(opts.providers) ?? ['cpu'],
        })
        console.error(JSON.stringify({ level: 'info', component: 'job-worker', worker: running.worker.queue.worker, msg: `train worker polling ${opts.db}` }))
        const stop = () => void running.stop()
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
        await running.done
      },
    )
}
