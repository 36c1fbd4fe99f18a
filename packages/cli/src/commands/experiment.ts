import { resolve } from 'node:path'
import type { ExperimentProgressEvent, ExperimentProtocol, ExperimentSpecInput } from '@genimage/shared'
import type { TfBackendName } from '@genimage/training/tf'
import { Argument, type Command, Option } from 'commander'
import { type ApiTarget, apiOptions, hintCommand, resolveApiTarget } from '../api-target.ts'
import { EXIT, exitWith } from '../exit-codes.ts'
import type { ExperimentApi } from '../experiments/api-client.ts'
import { describeRun, progressView, runStatus } from '../experiments/progress-view.ts'
import { commaList, jpegQuality, listOf, nonNegativeInteger, positiveInteger, tfBackendOption } from '../options.ts'

/** The options of `genimage experiment run`, as the parsers in `options.ts` leave them. */
interface ExperimentRunFlags extends ApiFlags {
  models: string[]
  data: string
  trainOn?: string[]
  testOn?: string[]
  degradations?: string[]
  epochs: number
  batchSize: number
  seeds: number[]
  limitPerClass?: number
  testLimitPerClass?: number
  debias?: number
  degradeReal: boolean
  interpolation: ExperimentSpecInput['interpolation']
  maxAttempts: number
  checkpointEvery: number
  name?: string
  detach?: boolean
  json?: boolean
}

/** `ExperimentProtocol.options` of `@genimage/shared`, repeated so that defining the commands does not load zod (a test keeps them equal). */
export const EXPERIMENT_PROTOCOLS: readonly ExperimentProtocol[] = ['table3', 'table4', 'table5', 'custom']

/** `--api` and `--api-key` as commander leaves them. */
export interface ApiFlags {
  api?: string
  apiKey?: string
}

/** The experiments API client for a command's `--api`/`--api-key` (see `resolveApiTarget`), and where it points. */
export async function experimentApi(flags: ApiFlags): Promise<{ api: ExperimentApi; target: ApiTarget }> {
  const target = await resolveApiTarget(flags)
  // The client parses every answer with the shared zod contracts; loaded here, not when the command is only defined.
  const { ExperimentApi } = await import('../experiments/api-client.ts')
  return { api: new ExperimentApi({ baseUrl: target.baseUrl, apiKey: target.apiKey, savedKey: target.keyFrom === 'config', scope: 'experiments' }), target }
}

/** After this long with every run still queued, say that a train worker is needed. */
const NO_WORKER_HINT_MS = 15_000

/** Follows an experiment until it ends (Ctrl-C stops following, not the experiment); non-zero exit unless it succeeded. */
async function followExperiment({ api, target }: { api: ExperimentApi; target: ApiTarget }, id: string, json: boolean): Promise<void> {
  const started = performance.now()
  const view = progressView(json)
  const controller = new AbortController()
  const onSignal = () => controller.abort()
  process.once('SIGINT', onSignal)
  try {
    let latest: ExperimentProgressEvent | undefined
    const hint = setTimeout(() => {
      if (latest?.runs.every((r) => r.state === 'queued' && r.attempts === 0)) {
        const db = process.env.DATABASE_URL ? ` --db ${process.env.DATABASE_URL}` : ''
        console.error(
          `no train worker has claimed a run yet; start one beside the edge (same database as the edge's DATABASE_URL): npx genimage experiment worker${db}`,
        )
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
        `stopped following; the experiment goes on. Follow again: ${hintCommand(target, `experiment follow ${id}`)}; cancel: ${hintCommand(target, `experiment cancel ${id}`)}`,
      )
      return
    }
    const seconds = (performance.now() - started) / 1000
    console.error(`${id} ${last?.state ?? 'unknown'} after ${seconds.toFixed(1)} s. Report: ${hintCommand(target, `report ${id}`)}`)
    if (last?.state !== 'succeeded') exitWith(EXIT.failed)
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
      .addArgument(new Argument('<protocol>', 'the GenImage protocol').choices(EXPERIMENT_PROTOCOLS))
      .requiredOption('--models <names>', 'comma-separated zoo models, e.g. npr-tiny,resnet50-tiny', commaList)
      .requiredOption('--data <root>', 'dataset root as the runners see it: <root>/<Generator>/{train,val}/{ai,nature}')
      .option('--train-on <generators>', 'generator(s) to train on (table3/5 default: SD V1.4; required for custom when the root has none)', commaList)
      .option('--test-on <generators>', 'custom: test generators (default all)', commaList)
      .option('--degradations <ids>', 'custom: e.g. none,jpeg-65,blur-3,downscale-112', commaList)
      .option('--epochs <n>', 'epochs per run', positiveInteger, 3)
      .option('--batch-size <n>', 'images per step', positiveInteger, 16)
      .addOption(new Option('--seeds <list>', 'comma-separated seeds (one run per seed)').argParser(listOf(nonNegativeInteger)).default([0], '0'))
      .option('--limit-per-class <n>', 'at most n train images per generator and class', positiveInteger)
      .option('--test-limit-per-class <n>', 'at most n test images per generator and class', positiveInteger)
      .addOption(new Option('--debias [quality]', 'JPEG-align training images').argParser(jpegQuality).preset('96'))
      .option('--no-degrade-real', 'apply degradations to generated images only')
      .addOption(new Option('--interpolation <kind>', 'downscale resampling').choices(['nearest', 'bilinear', 'bicubic', 'lanczos3']).default('bilinear'))
      .option('--max-attempts <n>', 'attempts per run before it fails', positiveInteger, 3)
      .option('--checkpoint-every <steps>', 'training steps between checkpoints', positiveInteger, 20)
      .option('--name <name>', 'a name for the experiment')
      .option('--detach', 'submit and print the id without following')
      .option('--json', 'print progress events as JSON lines'),
    'experiments',
  ).action(async (protocol: ExperimentProtocol, opts: ExperimentRunFlags) => {
    const dataRoot = resolve(opts.data)
    const [{ listGenerators }, { findPaperTrainGenerator }] = await Promise.all([import('@genimage/training/train'), import('@genimage/shared/genimage')])
    const generators = await listGenerators(dataRoot)
    if (generators.length === 0) throw new Error(`no generator folders (<Generator>/train|val) under ${dataRoot}`)
    let trainOn = opts.trainOn
    if (!trainOn && (protocol === 'table3' || protocol === 'table5') && !findPaperTrainGenerator(generators)) {
      trainOn = [generators[0]!]
      console.error(`${dataRoot} has no SD V1.4 subset; training on ${trainOn[0]} (choose with --train-on)`)
    }
    const spec: ExperimentSpecInput = {
      protocol,
      models: opts.models,
      dataRoot,
      generators,
      ...(trainOn ? { trainOn } : {}),
      ...(opts.testOn ? { testOn: opts.testOn } : {}),
      ...(opts.degradations ? { degradations: opts.degradations } : {}),
      epochs: opts.epochs,
      batchSize: opts.batchSize,
      seeds: opts.seeds,
      ...(opts.limitPerClass !== undefined ? { limitPerClass: opts.limitPerClass } : {}),
      ...(opts.testLimitPerClass !== undefined ? { testLimitPerClass: opts.testLimitPerClass } : {}),
      ...(opts.debias !== undefined ? { debiasJpegQuality: opts.debias } : {}),
      degradeReal: opts.degradeReal,
      interpolation: opts.interpolation,
      maxAttempts: opts.maxAttempts,
      checkpointEvery: opts.checkpointEvery,
      ...(opts.name ? { name: opts.name } : {}),
    }
    const client = await experimentApi(opts)
    const created = await client.api.submit(spec).catch((error: unknown) => {
      if (error instanceof Error && 'code' in error && error.code === 'invalid_request') throw new Error(`the experiment was refused: ${error.message}`)
      throw error
    })
    console.error(`submitted ${created.id}: ${created.protocol}, ${created.totalRuns} run(s)`)
    if (opts.detach) {
      console.log(created.id)
      return
    }
    await followExperiment(client, created.id, Boolean(opts.json))
  })

  apiOptions(
    experiment
      .command('follow')
      .description('follow a running experiment with a progress bar per run')
      .argument('<id>')
      .option('--json', 'print progress events as JSON lines'),
    'experiments',
  ).action(async (id: string, opts: ApiFlags & { json?: boolean }) => followExperiment(await experimentApi(opts), id, Boolean(opts.json)))

  apiOptions(experiment.command('list').description('list experiments, newest first').option('--json', 'print JSON'), 'experiments').action(
    async (opts: ApiFlags & { json?: boolean }) => {
      const { experiments } = await (await experimentApi(opts)).api.list()
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
    'experiments',
  ).action(async (id: string, opts: ApiFlags & { json?: boolean }) => {
    const e = await (await experimentApi(opts)).api.get(id)
    if (opts.json) return console.log(JSON.stringify(e, null, 2))
    console.log(`${e.id}  ${e.protocol}  ${e.state}  data ${e.spec.dataRoot}`)
    for (const run of e.runDetails) {
      console.log(`  ${describeRun({ ...run, metrics: run.metrics.length })}: ${runStatus({ ...run, metrics: run.metrics.length })}`)
      for (const m of run.metrics) console.log(`      ${m.testSet} ${m.degradation}: accuracy ${(100 * m.accuracy).toFixed(1)}% (n=${m.count})`)
    }
  })

  apiOptions(experiment.command('cancel').description('cancel an experiment; running jobs stop within one heartbeat').argument('<id>'), 'experiments').action(
    async (id: string, opts: ApiFlags) => {
      const result = await (await experimentApi(opts)).api.cancel(id)
      console.log(`${result.id} cancelled (${result.cancelledRuns} run(s) stopped or dequeued)`)
    },
  )

  experiment
    .command('worker')
    .description('run a train worker: claim experiment jobs from the database, train, export, evaluate (Ctrl-C hands the job back)')
    .option('--db <url>', "libSQL URL (the edge's DATABASE_URL)", process.env.DATABASE_URL ?? 'file:./data/genimage.db')
    .option('--artifacts <dir>', 'checkpoints and exported models; the same shared path on every runner', process.env.ARTIFACT_DIR ?? 'artifacts')
    .option('--name <worker>', 'lease identity (default <host>-<pid>)')
    .option('--lease-ms <ms>', 'lease length', positiveInteger, 30_000)
    .option('--heartbeat-ms <ms>', 'heartbeat period: progress writes and cancel checks (default a third of the lease, at most 2000)', positiveInteger)
    .option('--poll-ms <ms>', 'wait between polls of an empty queue', positiveInteger, 1000)
    .addOption(tfBackendOption())
    .option('--threads <n>', 'threads for the wasm backend', positiveInteger)
    .addOption(
      new Option('--providers <list>', 'onnxruntime execution providers for evaluation, in order')
        .argParser(commaList)
        .default(commaList(process.env.EXECUTION_PROVIDERS ?? 'cpu'), process.env.EXECUTION_PROVIDERS ?? 'cpu'),
    )
    .action(
      async (opts: {
        db: string
        artifacts: string
        name?: string
        leaseMs: number
        heartbeatMs?: number
        pollMs: number
        backend?: TfBackendName | 'auto'
        threads?: number
        providers: string[]
      }) => {
        const { startTrainWorker } = await import('@genimage/gpu-runner/jobs')
        const running = await startTrainWorker({
          databaseUrl: opts.db,
          artifactRoot: opts.artifacts,
          worker: opts.name,
          leaseMs: opts.leaseMs,
          heartbeatMs: opts.heartbeatMs,
          pollMs: opts.pollMs,
          backend: opts.backend,
          threads: opts.threads,
          providers: opts.providers,
        })
        console.error(JSON.stringify({ level: 'info', component: 'job-worker', worker: running.worker.queue.worker, msg: `train worker polling ${opts.db}` }))
        const stop = () => void running.stop()
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
        await running.done
      },
    )
}
