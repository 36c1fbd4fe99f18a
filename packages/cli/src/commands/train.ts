import { existsSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { defaultManifestUrl, MINI_MANIFEST_FILE } from '@genimage/dataset-tools'
import { resolveTfBackend, type TfBackendName } from '@genimage/training/tf'
import { modelFolderPath, VERSION_PLACEHOLDER, writeModelFolder } from '@genimage/training/export'
import { trainCommandLine } from '@genimage/shared'
import { TrainingCancelledError, trainEvents, type TrainEvent } from '@genimage/training/train'
import { listZooModelNames, resolveZooModel } from '@genimage/shared/zoo'
import cliProgress from 'cli-progress'
import { Option, type Command } from 'commander'
import { EXIT, exitWith } from '../exit-codes.ts'
import { commaList, jpegQuality, nonNegativeInteger, nonNegativeNumber, positiveInteger, tfBackendOption } from '../options.ts'

interface TrainFlags {
  model: string
  data: string
  trainOn: string[]
  valOn?: string[]
  out?: string
  force?: boolean
  name?: string
  task: 'binary' | 'attribution'
  epochs: number
  batchSize: number
  optimizer?: 'sgd' | 'adamw'
  lr?: number
  weightDecay?: number
  seed: number
  checkpointDir?: string
  checkpointEvery: number
  earlyStop?: number
  limitPerClass?: number
  jpegAlign?: number
  backend?: TfBackendName | 'auto'
  threads?: number
  json?: boolean
  dataName?: string
  manifest?: string | boolean
}

/** The command line that reproduces a run, written into the model card. */
function reproducingCommand(model: string, flags: TrainFlags): string {
  return trainCommandLine({
    model,
    data: flags.data,
    trainOn: flags.trainOn,
    valOn: flags.valOn,
    manifest: flags.manifest === true ? true : flags.manifest || undefined,
    task: flags.task,
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    seed: flags.seed,
    optimizer: flags.optimizer,
    learningRate: flags.lr,
    weightDecay: flags.weightDecay,
    earlyStop: flags.earlyStop,
    limitPerClass: flags.limitPerClass,
    jpegAlign: flags.jpegAlign,
    out: flags.out,
  })
}

/** GenImage-mini roots carry a manifest; a model trained on one must say it was not trained on GenImage. */
function describeData(flags: TrainFlags): string {
  if (flags.dataName) return flags.dataName
  return existsSync(join(resolve(flags.data), MINI_MANIFEST_FILE)) ? 'GenImage-mini (not GenImage)' : basename(resolve(flags.data))
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`

/** `genimage train`: trains a zoo detector on a GenImage-layout root and writes a model folder the runner serves. */
export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('train a zoo detector (tfjs) on a GenImage-layout dataset root and write model.onnx + card.json; re-running resumes from the checkpoint')
    .requiredOption('--model <name>', `zoo model, e.g. npr-tiny (known: ${listZooModelNames().join(', ')})`)
    .requiredOption('--data <root>', 'dataset root: <root>/<Generator>/{train,val}/{ai,nature}')
    .requiredOption('--train-on <generators>', 'comma-separated generator folders to train on', commaList)
    .option('--val-on <generators>', 'generators whose val split is scored each epoch (default: all)', commaList)
    .option(
      '--out <dir>',
      `model folder to write; ${VERSION_PLACEHOLDER} in it becomes the model's content version (default: models/<model>-<generators>-${VERSION_PLACEHOLDER})`,
    )
    .option('--force', 'replace the model folder at --out when one is there (default: refuse, so a shipped model is never overwritten by accident)')
    .option('--name <name>', 'model card name (default: from model and generators)')
    .addOption(new Option('--task <task>', 'head').choices(['binary', 'attribution']).default('binary'))
    .option('--epochs <n>', 'epochs', positiveInteger, 5)
    .option('--batch-size <n>', 'images per step', positiveInteger, 16)
    .addOption(new Option('--optimizer <kind>', "optimizer (default: the zoo entry's)").choices(['sgd', 'adamw']))
    .option('--lr <rate>', 'peak learning rate (cosine schedule)', nonNegativeNumber)
    .option('--weight-decay <w>', 'weight decay', nonNegativeNumber)
    .option('--seed <n>', 'seed of weights, data order and augmentation', nonNegativeInteger, 0)
    .option('--checkpoint-dir <dir>', 'checkpoint folder (default: <out>.checkpoints)')
    .option('--checkpoint-every <steps>', 'steps between checkpoints', positiveInteger, 20)
    .option('--early-stop <epochs>', 'stop after this many epochs without a better val accuracy', positiveInteger)
    .option('--limit-per-class <n>', 'at most n training images per generator and class', positiveInteger)
    .option('--jpeg-align <quality>', 're-encode all training images as JPEG at this quality first (e.g. 96)', jpegQuality)
    .addOption(tfBackendOption())
    .option('--threads <n>', 'threads for the wasm backend', positiveInteger)
    .option('--manifest [url]', "take image lists from the dataset manifest (`genimage dataset manifest`; default URL: the root's own)")
    .option('--data-name <text>', 'what the data is, for the model card (default: "GenImage-mini (not GenImage)" for a mini root, else the folder name)')
    .option('--json', 'print progress events as JSON lines instead of a progress bar')
    .action(async (flags: TrainFlags) => {
      const ref = resolveZooModel(flags.model)
      const trainOn = flags.trainOn
      const base = `models/${ref.name}-${trainOn
        .join('-')
        .toLowerCase()
        .replace(/[^a-z0-9.-]+/g, '-')}`
      const out = resolve(flags.out ?? `${base}-${VERSION_PLACEHOLDER}`)
      if (!flags.force && existsSync(join(out, 'card.json'))) {
        console.error(
          `${out} already holds a model (card.json); training would replace it. Pass --force to replace it, or leave out --out to write a new folder named with the new model's version.`,
        )
        exitWith(EXIT.usage)
        return
      }
      const checkpointDir = resolve(flags.checkpointDir ?? (flags.out ? `${out}.checkpoints` : `${resolve(base)}.checkpoints`))
      await resolveTfBackend({ backend: flags.backend, threads: flags.threads })
      const controller = new AbortController()
      const onSignal = () => controller.abort()
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      const run = trainEvents({
        model: ref.name,
        dataRoot: resolve(flags.data),
        manifestUrl: flags.manifest === true ? defaultManifestUrl(flags.data) : flags.manifest || undefined,
        trainOn,
        valOn: flags.valOn,
        task: flags.task,
        epochs: flags.epochs,
        batchSize: flags.batchSize,
        optimizer: {
          ...(flags.optimizer ? { kind: flags.optimizer } : {}),
          ...(flags.lr !== undefined ? { learningRate: flags.lr } : {}),
          ...(flags.weightDecay !== undefined ? { weightDecay: flags.weightDecay } : {}),
        },
        seed: flags.seed,
        checkpointDir,
        checkpointEvery: flags.checkpointEvery,
        earlyStopPatience: flags.earlyStop,
        limitPerClass: flags.limitPerClass,
        jpegAlignQuality: flags.jpegAlign,
        signal: controller.signal,
      })
      const report = flags.json ? jsonReporter() : process.stderr.isTTY ? barReporter() : lineReporter()
      try {
        for await (const event of run) report(event)
        const result = await run.result
        const card = await writeModelFolder(result, out, {
          dataRoot: resolve(flags.data),
          name: flags.name,
          command: reproducingCommand(ref.name, flags),
          trainingData: describeData(flags),
        })
        result.detector.dispose()
        const perGenerator = Object.entries(result.evaluation.perGenerator)
          .map(([g, a]) => `${g} ${pct(a)}`)
          .join(', ')
        console.log(
          `\nwrote ${modelFolderPath(out, card.version)} (model ${card.name}@${card.version}, best epoch ${result.bestEpoch}, val accuracy ${pct(result.valAccuracy)}; per generator: ${perGenerator})`,
        )
        console.log(`serve it: MODEL_DIR=${resolve(modelFolderPath(out, card.version), '..')} npx genimage start`)
      } catch (error) {
        if (error instanceof TrainingCancelledError) {
          console.error(`\nstopped at step ${error.step}; checkpoint in ${checkpointDir}. Run the same command again to resume.`)
          exitWith(EXIT.interrupted)
          return
        }
        throw error
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
      }
    })
}

function jsonReporter(): (event: TrainEvent) => void {
  return (event) => console.log(JSON.stringify(event))
}

const describeEpoch = (event: Extract<TrainEvent, { type: 'epoch' }>) =>
  `epoch ${event.epoch}/${event.epochs}: train loss ${event.trainLoss.toFixed(4)}, val accuracy ${pct(event.valAccuracy)}${event.isBest ? ' (best)' : ''} [${Object.entries(
    event.perGenerator,
  )
    .map(([g, a]) => `${g} ${pct(a)}`)
    .join(', ')}]`

/** Plain lines for logs and pipes: about ten step lines per run plus every epoch. */
function lineReporter(): (event: TrainEvent) => void {
  let every = 1
  return (event) => {
    if (event.type === 'start') {
      every = Math.max(1, Math.round(event.totalSteps / 10))
      console.error(
        `training ${event.model} on ${event.backend}: ${event.trainImages} train / ${event.valImages} val images, ${event.totalSteps} steps${event.resumedFromStep ? ` (resuming from step ${event.resumedFromStep})` : ''}`,
      )
    } else if (event.type === 'step' && (event.step % every === 0 || event.step === event.totalSteps)) {
      console.error(
        `step ${event.step}/${event.totalSteps} epoch ${event.epoch}/${event.epochs} loss ${event.loss.toFixed(4)} ${event.imagesPerSecond.toFixed(1)} img/s ETA ${Math.round(event.etaSeconds)}s`,
      )
    } else if (event.type === 'epoch') console.error(describeEpoch(event))
    else if (event.type === 'early-stop') console.error(`early stop after epoch ${event.epoch} (best epoch ${event.bestEpoch})`)
  }
}

function barReporter(): (event: TrainEvent) => void {
  const multibar = new cliProgress.MultiBar(
    {
      format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} steps | loss {loss} | {ips} img/s | ETA {eta}s',
      hideCursor: true,
      clearOnComplete: false,
      gracefulExit: false,
    },
    cliProgress.Presets.shades_classic,
  )
  let bar: cliProgress.SingleBar | undefined
  return (event) => {
    switch (event.type) {
      case 'start':
        multibar.log(
          `training ${event.model} on ${event.backend}: ${event.trainImages} train / ${event.valImages} val images, ${event.totalSteps} steps${event.resumedFromStep ? ` (resuming from step ${event.resumedFromStep})` : ''}\n`,
        )
        bar = multibar.create(event.totalSteps, event.resumedFromStep, { epoch: 1, epochs: event.epochs, loss: '-', ips: '-', eta: '-' })
        break
      case 'step':
        bar?.update(event.step, {
          epoch: event.epoch,
          epochs: event.epochs,
          loss: event.loss.toFixed(4),
          ips: event.imagesPerSecond.toFixed(1),
          eta: Math.round(event.etaSeconds),
        })
        break
      case 'epoch':
        multibar.log(`${describeEpoch(event)}\n`)
        break
      case 'early-stop':
        multibar.log(`early stop after epoch ${event.epoch} (best epoch ${event.bestEpoch})\n`)
        break
      case 'done':
        multibar.stop()
        break
      default:
        break
    }
  }
}
