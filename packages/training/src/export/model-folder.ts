import { createHash } from 'node:crypto'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { type MeasuredAccuracy, type ModelCardInput, NewModelCard } from '@genimage/shared'
import { resolveZooModel } from '@genimage/shared/zoo'
import * as tf from '@tensorflow/tfjs'
import { withSynchronousReads } from '../tf/sync-reads.ts'
import type { TrainResult } from '../train/train.ts'
import { loadSplit } from '../train/dataset.ts'
import { exportDetectorToOnnx } from './onnx-export.ts'
import { measureTrainingProfile } from './training-profile.ts'

export interface WriteModelFolderOptions {
  /** Card name (default: `<zoo name>-<train generators>`, lower-cased). */
  name?: string
  /** Default: the first 12 hex digits of model.onnx's sha256, so a retrained model always gets a new version. */
  version?: string
  /** The command that reproduces this folder from scratch. */
  command?: string
  /** What the data was, e.g. "GenImage-mini (not GenImage)". Default: the dataset root's folder name. */
  trainingData?: string
  /**
   * The one line every detect answer repeats about the training data. Default: from the data name and generators,
   * saying for GenImage-mini that it is not real text-to-image generators.
   */
  trainedOn?: string
  /** Measure the training profile (size, colour and score ranges) on the train split (default true). */
  measureProfile?: boolean
  dataRoot: string
}

/** The content version of a model file: the first 12 hex digits of its sha256. */
export function contentVersion(sha256: string): string {
  return sha256.slice(0, 12)
}

/** `VERSION_PLACEHOLDER` in an output path stands for the model's (content) version, known once the model is exported. */
export const VERSION_PLACEHOLDER = '{version}'

/** The folder a model is written to: `outDir` with {@link VERSION_PLACEHOLDER} replaced by its version. */
export function modelFolderPath(outDir: string, version: string): string {
  return outDir.replaceAll(VERSION_PLACEHOLDER, version)
}

/** The default one-line statement of what a model was trained on. */
export function trainedOnLine(dataName: string, trainOn: readonly string[]): string {
  const generators = `${trainOn.length} generator${trainOn.length === 1 ? '' : 's'} (${trainOn.join(', ')})`
  return /genimage-mini/i.test(dataName)
    ? `GenImage-mini (small crops of real photos and ${generators}), not real text-to-image generators`
    : `${dataName}: train split of ${generators}; untested on images from other generators`
}

/** Lower-case card name from free text: letters, digits, '.', '_' and '-'. */
export function cardName(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '')
      .replace(/-+$/, '') || 'model'
  )
}

/** Writes a file atomically (temp name, then rename). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await writeFile(`${path}.tmp`, data)
  await rename(`${path}.tmp`, path)
}

/**
 * Writes the folder the runner serves: `model.onnx` (exported from the trained weights), `card.json`
 * (validated ModelCard: input config, labels, provenance with the reproducing command, measured val accuracy
 * per generator, sha256, the content version, the one-line `trainedOn` and the training profile measured on the
 * train split) and `training.json` (settings and per-epoch history). `{version}` in `outDir` becomes the version,
 * so that a retrained model lands in a new folder.
 */
export async function writeModelFolder(result: TrainResult, outDir: string, options: WriteModelFolderOptions): Promise<NewModelCard> {
  const { detector, settings } = result
  const ref = resolveZooModel(settings.model)
  const bytes = await withSynchronousReads(tf, detector.params.all().values(), () => exportDetectorToOnnx(detector, { trained_on: settings.trainOn.join(',') }))
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const dataName = options.trainingData ?? basename(options.dataRoot)
  const ownGenerators = Object.fromEntries(settings.trainOn.map((g) => [g, result.evaluation.perGenerator[g] ?? 0]))
  const metrics: MeasuredAccuracy[] = [
    {
      dataset: dataName,
      split: `val (generators trained on: ${settings.trainOn.join(', ')})`,
      accuracy: result.valAccuracy,
      count: settings.trainOn.reduce((sum, g) => sum + (result.evaluation.countPerGenerator[g] ?? 0), 0),
      perGenerator: ownGenerators,
    },
    {
      dataset: dataName,
      split: 'val (all generators)',
      accuracy: result.evaluation.accuracy,
      count: result.evaluation.count,
      perGenerator: result.evaluation.perGenerator,
    },
  ]
  const profile =
    options.measureProfile === false
      ? undefined
      : await measureTrainingProfile(
          (await loadSplit({ root: options.dataRoot, split: 'train', generators: settings.trainOn, task: 'binary', headGenerators: settings.trainOn })).map(
            (image) => image.path,
          ),
          {
            input: detector.info.input,
            labels: detector.labels,
            onnx: bytes,
            outputName: 'logits',
            source: `${dataName}, train split of ${settings.trainOn.join(', ')} (nature and ai)`,
          },
        )
  const card: ModelCardInput = {
    name: options.name ?? cardName(`${settings.model}-${settings.trainOn.join('-')}`),
    version: options.version ?? contentVersion(sha256),
    description: `${ref.entry.displayName} (${ref.variant}) trained by genimage on ${dataName}, ${settings.task} head.`,
    architecture: settings.model,
    task: settings.task,
    labels: detector.labels,
    sha256,
    input: detector.info.input,
    output: { name: 'logits' },
    provenance: {
      kind: 'trained',
      createdAt: new Date().toISOString(),
      command: options.command,
      trainingData: `${dataName}: train split of ${settings.trainOn.join(', ')}`,
      notes: `epochs ${settings.epochs} (best ${result.bestEpoch}${result.stoppedEarly ? ', stopped early' : ''}), batch ${settings.batchSize}, ${settings.optimizer.kind} lr ${settings.optimizer.learningRate}, seed ${settings.seed}`,
    },
    metrics,
    trainedOn: options.trainedOn ?? trainedOnLine(dataName, settings.trainOn),
    ...(profile ? { trainingProfile: profile } : {}),
  }
  const parsed = NewModelCard.parse(card)
  outDir = modelFolderPath(outDir, parsed.version)
  await mkdir(outDir, { recursive: true })
  await writeFileAtomic(join(outDir, parsed.file), bytes)
  await writeFileAtomic(
    join(outDir, 'training.json'),
    JSON.stringify({ settings, history: result.history, bestEpoch: result.bestEpoch, steps: result.steps }, null, 2),
  )
  await writeFileAtomic(join(outDir, 'card.json'), JSON.stringify(parsed, null, 2))
  return parsed
}
