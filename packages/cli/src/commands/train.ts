import { existsSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { defaultManifestUrl, MINI_MANIFEST_FILE } from '@genimage/dataset-tools'
import { resolveTfBackend, TF_BACKEND_NAMES, type TfBackendName } from '@genimage/training/tf'
import { importOnnxDetector, writeModelFolder } from '@genimage/training/export'
import { IMAGENET_MEAN, IMAGENET_STD, InputConfig } from '@genimage/shared'
import { TrainingCancelledError, trainEvents, type TrainEvent } from '@genimage/training/train'
import { listZooModelNames, resolveZooModel } from '@genimage/shared/zoo'
import cliProgress from 'cli-progress'
import { Option, type Command } from 'commander'

interface TrainFlags {
  model: string
  data: string
  trainOn: string
  valOn?: string
  out?: string
  name?: string
  task: 'binary' | 'attribution'
  epochs: string
  batchSize: string
  optimizer?: 'sgd' | 'adamw'
  lr?: string
  weightDecay?: string
  seed: string
  checkpointDir?: string
  checkpointEvery: string
  earlyStop?: string
  limitPerClass?: string
  jpegAlign?: string
  backend: string
  threads?: string
  json?: boolean
  dataName?: string
  manifest?: string | boolean
}

const list = (text: string | undefined) =>
  text
    ? text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined

function positiveInt(text: string, flag: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag} must be a positive integer, got "${text}"`)
  return value
}

function nonNegativeInt(text: string, flag: string): number {
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${flag} must be a non-negative integer, got "${text}"`)
  return value
}

function positiveNumber(text: string, flag: string): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0) throw new Error(`${flag} must be a non-negative number, got "${text}"`)
  return value
}

/** The command line that reproduces a run, written into the model card. */
function reproducingCommand(flags: TrainFlags): string {
  const parts = ['npx genimage train', `--model ${flags.model}`, `--data ${JSON.stringify(flags.data)}`, `--train-on ${JSON.stringify(flags.trainOn)}`]
  if (flags.valOn) parts.push(`--val-on ${JSON.stringify(flags.valOn)}`)
  if (flags.manifest) parts.push(flags.manifest === true ? '--manifest' : `--manifest ${JSON.stringify(flags.manifest)}`)
  parts.push(`--task ${flags.task}`, `--epochs ${flags.epochs}`, `--batch-size ${flags.batchSize}`, `--seed ${flags.seed}`)
  if (flags.optimizer) parts.push(`--optimizer ${flags.optimizer}`)
  if (flags.lr) parts.push(`--lr ${flags.lr}`)
  if (flags.weightDecay) parts.push(`--weight-decay ${flags.weightDecay}`)
  if (flags.earlyStop) parts.push(`--early-stop ${flags.earlyStop}`)
  if (flags.limitPerClass) parts.push(`--limit-per-class ${flags.limitPerClass}`)
  if (flags.jpegAlign) parts.push(`--jpeg-align ${flags.jpegAlign}`)
  if (flags.out) parts.push(`--out ${JSON.stringify(flags.out)}`)
  return parts.join(' ')
}

/** GenImage-mini roots carry a manifest; a model trained on one must say it was not trained on GenImage. */
function describeData(flags: TrainFlags): string {
  if (flags.dataName) return flags.dataName
  return existsSync(join(resolve(flags.data), MINI_MANIFEST_FILE)) ? 'GenImage-mini (not GenImage)' : basename(resolve(flags.data))
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`

interface ImportFlags {
  name: string
  out?: string
  architecture: string
  task: 'binary' | 'attribution'
  labels?: string
  size: string
  layout: 'NCHW' | 'NHWC'
  inputName: string
  outputName: string
  resize: InputConfig['resize']
  cropPct: string
  interpolation: InputConfig['interpolation']
  mean?: string
  std?: string
  trainingData?: string
}

const triple = (text: string, flag: string): [number, number, number] => {
  const values = text.split(',').map(Number)
  if (values.length !== 3 || values.some((v) => !Number.isFinite(v))) throw new Error(`${flag} needs three comma-separated numbers, got "${text}"`)
  return values as [number, number, number]
}

/**
 * `genimage models import <file.onnx>`: registers an external ONNX detector (defaults: a timm ResNet-50 exported from
 * PyTorch with the GenImage recipe — NCHW 224², shorter side to 256 then centre crop, ImageNet mean/std).
 */
function registerImportCommand(parent: Command, commandName: string): void {
  parent
    .command(commandName)
    .description('register an external ONNX detector as a model folder the runner serves (checked with onnxruntime first)')
    .argument('<file>', 'the .onnx file')
    .requiredOption('--name <name>', 'model card name (lower-case letters, digits, . _ -)')
    .option('--out <dir>', 'model folder to write (default: models/<name>)')
    .option('--architecture <text>', 'architecture recorded in the card', 'resnet50-timm')
    .addOption(new Option('--task <task>', 'head').choices(['binary', 'attribution']).default('binary'))
    .option('--labels <labels>', 'comma-separated labels in output order (default for binary: nature,ai)')
    .option('--size <pixels>', 'square input size', '224')
    .addOption(new Option('--layout <layout>', 'input layout').choices(['NCHW', 'NHWC']).default('NCHW'))
    .option('--input-name <name>', 'image input of the graph', 'image')
    .option('--output-name <name>', 'logits output of the graph', 'logits')
    .addOption(new Option('--resize <mode>', 'resize mode').choices(['shorter-side-center-crop', 'center-crop', 'stretch']).default('shorter-side-center-crop'))
    .option('--crop-pct <fraction>', 'centre-crop fraction for shorter-side-center-crop', '0.875')
    .addOption(new Option('--interpolation <kind>', 'resize kernel').choices(['nearest', 'bilinear', 'bicubic', 'lanczos3']).default('bilinear'))
    .option('--mean <r,g,b>', 'per-channel mean on [0,1] pixels (default ImageNet)')
    .option('--std <r,g,b>', 'per-channel std (default ImageNet)')
    .option('--training-data <text>', 'what the model was trained on, for the card')
    .action(async (file: string, flags: ImportFlags) => {
      const size = positiveInt(flags.size, '--size')
      const labels = list(flags.labels) ?? (flags.task === 'binary' ? ['nature', 'ai'] : [])
      const input = InputConfig.parse({
        name: flags.inputName,
        layout: flags.layout,
        height: size,
        width: size,
        resize: flags.resize,
        cropPct: Number(flags.cropPct),
        interpolation: flags.interpolation,
        mean: flags.mean ? triple(flags.mean, '--mean') : IMAGENET_MEAN,
        std: flags.std ? triple(flags.std, '--std') : IMAGENET_STD,
      })
      const out = resolve(flags.out ?? `models/${flags.name}`)
      const card = await importOnnxDetector({
        source: resolve(file),
        outDir: out,
        name: flags.name,
        architecture: flags.architecture,
        task: flags.task,
        labels,
        input,
        outputName: flags.outputName,
        trainingData: flags.trainingData,
      })
      console.log(
        `wrote ${out} (${card.name}@${card.version}, ${card.labels.length} labels, input ${input.layout} ${size}², sha256 ${card.sha256.slice(0, 12)}…)`,
      )
    })
}

/**
 * `genimage train`: trains a zoo detector on a GenImage-layout root and writes a model folder the runner serves.
 * Also adds `genimage models import` (or `genimage import-onnx` when no `models` group is registered first).
 */
export function registerTrainCommands(program: Command): void {
  const models = program.commands.find((command) => command.name() === 'models')
  if (models) registerImportCommand(models, 'import')
  else registerImportCommand(program, 'import-onnx')

  program
    .command('train')
    .description('train a zoo detector (tfjs) on a GenImage-layout dataset root and write model.onnx + card.json; re-running resumes from the checkpoint')
    .requiredOption('--model <name>', `zoo model, e.g. npr-tiny (known: ${listZooModelNames().join(', ')})`)
    .requiredOption('--data <root>', 'dataset root: <root>/<Generator>/{train,val}/{ai,nature}')
    .requiredOption('--train-on <generators>', 'comma-separated generator folders to train on')
    .option('--val-on <generators>', 'generators whose val split is scored each epoch (default: all)')
    .option('--out <dir>', 'model folder to write (default: models/<model>-<generators>)')
    .option('--name <name>', 'model card name (default: from model and generators)')
    .addOption(new Option('--task <task>', 'head').choices(['binary', 'attribution']).default('binary'))
    .option('--epochs <n>', 'epochs', '5')
    .option('--batch-size <n>', 'images per step', '16')
    .addOption(new Option('--optimizer <kind>', "optimizer (default: the zoo entry's)").choices(['sgd', 'adamw']))
    .option('--lr <rate>', 'peak learning rate (cosine schedule)')
    .option('--weight-decay <w>', 'weight decay')
    .option('--seed <n>', 'seed of weights, data order and augmentation', '0')
    .option('--checkpoint-dir <dir>', 'checkpoint folder (default: <out>.checkpoints)')
    .option('--checkpoint-every <steps>', 'steps between checkpoints', '20')
    .option('--early-stop <epochs>', 'stop after this many epochs without a better val accuracy')
    .option('--limit-per-class <n>', 'at most n training images per generator and class')
    .option('--jpeg-align <quality>', 're-encode all training images as JPEG at this quality first (e.g. 96)')
    .addOption(new Option('--backend <name>', 'tfjs backend to use first').choices([...TF_BACKEND_NAMES, 'auto']).default('auto'))
    .option('--threads <n>', 'threads for the wasm backend')
    .option('--manifest [url]', "take image lists from the dataset manifest (`genimage dataset manifest`; default URL: the root's own)")
    .option('--data-name <text>', 'what the data is, for the model card (default: "GenImage-mini (not GenImage)" for a mini root, else the folder name)')
    .option('--json', 'print progress events as JSON lines instead of a progress bar')
    .action(async (flags: TrainFlags) => {
      const ref = resolveZooModel(flags.model)
      const trainOn = list(flags.trainOn) ?? []
      const out = resolve(
        flags.out ??
          `models/${ref.name}-${trainOn
            .join('-')
            .toLowerCase()
            .replace(/[^a-z0-9.-]+/g, '-')}`,
      )
      const checkpointDir = resolve(flags.checkpointDir ?? `${out}.checkpoints`)
      const priority = flags.backend === 'auto' ? TF_BACKEND_NAMES : [flags.backend as TfBackendName, ...TF_BACKEND_NAMES.filter((b) => b !== flags.backend)]
      await resolveTfBackend({ priority, threads: flags.threads ? positiveInt(flags.threads, '--threads') : undefined })
      const controller = new AbortController()
      const onSignal = () => controller.abort()
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      const run = trainEvents({
        model: ref.name,
        dataRoot: resolve(flags.data),
        manifestUrl: flags.manifest === true ? defaultManifestUrl(flags.data) : flags.manifest || undefined,
        trainOn,
        valOn: list(flags.valOn),
        task: flags.task,
        epochs: positiveInt(flags.epochs, '--epochs'),
        batchSize: positiveInt(flags.batchSize, '--batch-size'),
        optimizer: {
          ...(flags.optimizer ? { kind: flags.optimizer } : {}),
          ...(flags.lr ? { learningRate: positiveNumber(flags.lr, '--lr') } : {}),
          ...(flags.weightDecay ? { weightDecay: positiveNumber(flags.weightDecay, '--weight-decay') } : {}),
        },
        seed: nonNegativeInt(flags.seed, '--seed'),
        checkpointDir,
        checkpointEvery: positiveInt(flags.checkpointEvery, '--checkpoint-every'),
        earlyStopPatience: flags.earlyStop ? positiveInt(flags.earlyStop, '--early-stop') : undefined,
        limitPerClass: flags.limitPerClass ? positiveInt(flags.limitPerClass, '--limit-per-class') : undefined,
        jpegAlignQuality: flags.jpegAlign ? positiveInt(flags.jpegAlign, '--jpeg-align') : undefined,
        signal: controller.signal,
      })
      const report = flags.json ? jsonReporter() : process.stderr.isTTY ? barReporter() : lineReporter()
      try {
        for await (const event of run) report(event)
        const result = await run.result
        const card = await writeModelFolder(result, out, {
          dataRoot: resolve(flags.data),
          name: flags.name,
          command: reproducingCommand(flags),
          trainingData: describeData(flags),
        })
        result.detector.dispose()
        const perGenerator = Object.entries(result.evaluation.perGenerator)
          .map(([g, a]) => `${g} ${pct(a)}`)
          .join(', ')
        console.log(
          `\nwrote ${out} (model ${card.name}, best epoch ${result.bestEpoch}, val accuracy ${pct(result.valAccuracy)}; per generator: ${perGenerator})`,
        )
        console.log(`serve it: MODEL_DIR=${resolve(out, '..')} npx genimage start`)
      } catch (error) {
        if (error instanceof TrainingCancelledError) {
          console.error(`\nstopped at step ${error.step}; checkpoint in ${checkpointDir}. Run the same command again to resume.`)
          process.exitCode = 130
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
