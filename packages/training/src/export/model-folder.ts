import { createHash } from 'node:crypto'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { ModelCard, type MeasuredAccuracy, type ModelCardInput } from '@genimage/shared'
import { resolveZooModel } from '@genimage/shared/zoo'
import type { TrainResult } from '../train/train.ts'
import { exportDetectorToOnnx } from './onnx-export.ts'

export interface WriteModelFolderOptions {
  /** Card name (default: `<zoo name>-<train generators>`, lower-cased). */
  name?: string
  version?: string
  /** The command that reproduces this folder from scratch. */
  command?: string
  /** What the data was, e.g. "GenImage-mini (not GenImage)". Default: the dataset root's folder name. */
  trainingData?: string
  dataRoot: string
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
 * per generator, sha256) and `training.json` (settings and per-epoch history).
 */
export async function writeModelFolder(result: TrainResult, outDir: string, options: WriteModelFolderOptions): Promise<ModelCard> {
  const { detector, settings } = result
  const ref = resolveZooModel(settings.model)
  const bytes = exportDetectorToOnnx(detector, { trained_on: settings.trainOn.join(',') })
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
  const card: ModelCardInput = {
    name: options.name ?? cardName(`${settings.model}-${settings.trainOn.join('-')}`),
    version: options.version ?? '1',
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
  }
  const parsed = ModelCard.parse(card)
  await mkdir(outDir, { recursive: true })
  await writeFileAtomic(join(outDir, parsed.file), bytes)
  await writeFileAtomic(
    join(outDir, 'training.json'),
    JSON.stringify({ settings, history: result.history, bestEpoch: result.bestEpoch, steps: result.steps }, null, 2),
  )
  await writeFileAtomic(join(outDir, 'card.json'), JSON.stringify(parsed, null, 2))
  return parsed
}
