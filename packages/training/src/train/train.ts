import { createHash } from 'node:crypto'
import { relative } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import type { ModelTask } from '@genimage/shared'
import { resolveZooModel } from '@genimage/shared/zoo'
import type { Detector } from '../zoo/detector.ts'
import { createDetector } from '../zoo/registry.ts'
import { BatchSource, type Batch } from './batches.ts'
import { loadCheckpoint, saveCheckpoint, type TensorValues } from './checkpoint.ts'
import { listGenerators, loadSplit } from './dataset.ts'
import { predictLabels, prepareEvalTensors, scorePredictions, type EvaluationResult } from './evaluate.ts'
import { CheckpointMismatchError, TrainingCancelledError, type TrainEvent } from './events.ts'
import { cosineLearningRate, Optimizer, type OptimizerConfig } from './optimizer.ts'

export interface TrainOptions {
  /** Zoo name, e.g. `npr-tiny`. */
  model: string
  /** GenImage-layout root: `<root>/<Generator>/{train,val}/{ai,nature}`. */
  dataRoot: string
  /** Read the image lists from this manifest (libSQL URL, see `loadSplit`) instead of listing folders. */
  manifestUrl?: string
  /** Generators whose train split is used. */
  trainOn: string[]
  /** Generators whose val split is scored each epoch (default: every generator under the root). */
  valOn?: string[]
  task?: ModelTask
  epochs?: number
  batchSize?: number
  /** Overrides of the zoo's default optimizer. */
  optimizer?: Partial<OptimizerConfig>
  warmupSteps?: number
  seed?: number
  /** Where checkpoints go; a run finding a matching checkpoint there resumes from it. */
  checkpointDir?: string
  /** Checkpoint every N steps (default 20) and at each epoch end. */
  checkpointEvery?: number
  /** Stop after this many epochs without a better val accuracy. */
  earlyStopPatience?: number
  /** Use at most this many train images per generator and class. */
  limitPerClass?: number
  valLimitPerClass?: number
  /** Re-encode every training image as JPEG at this quality first ("Fake or JPEG?" alignment; GenImage's nature is q96). */
  jpegAlignQuality?: number
  signal?: AbortSignal
  onProgress?: (event: TrainEvent) => void | Promise<void>
}

export interface EpochRecord {
  epoch: number
  trainLoss: number
  valAccuracy: number
  perGenerator: Record<string, number>
}

export interface TrainResult {
  /** The detector holding the weights of the best val epoch. */
  detector: Detector
  history: EpochRecord[]
  bestEpoch: number
  /** Val accuracy of the best epoch on the training generators' val split. */
  valAccuracy: number
  /** Full evaluation of the best weights on every val generator. */
  evaluation: EvaluationResult
  steps: number
  resumedFromStep: number
  stoppedEarly: boolean
  settings: ResolvedTrainSettings
}

export interface ResolvedTrainSettings {
  model: string
  task: ModelTask
  trainOn: string[]
  valOn: string[]
  epochs: number
  batchSize: number
  optimizer: OptimizerConfig
  warmupSteps: number
  seed: number
  limitPerClass?: number
  jpegAlignQuality?: number
}

interface CheckpointExtra {
  history: EpochRecord[]
  bestEpoch: number
  bestAccuracy: number
  epochLossSum: number
  epochLossCount: number
  stoppedEarly: boolean
}

/**
 * Trains a zoo detector on a GenImage-layout root: seeded, resumable from checkpoints, reporting progress
 * events. Returns the detector with its best-epoch weights (the caller exports and disposes it).
 */
export async function trainDetector(options: TrainOptions): Promise<TrainResult> {
  const started = Date.now()
  const ref = resolveZooModel(options.model)
  const task = options.task ?? 'binary'
  const seed = options.seed ?? 0
  const settings: ResolvedTrainSettings = {
    model: ref.name,
    task,
    trainOn: options.trainOn,
    valOn: options.valOn ?? (await listGenerators(options.dataRoot)),
    epochs: options.epochs ?? 5,
    batchSize: options.batchSize ?? 16,
    optimizer: { ...ref.entry.defaultOptimizer, ...options.optimizer },
    warmupSteps: options.warmupSteps ?? 0,
    seed,
    limitPerClass: options.limitPerClass,
    jpegAlignQuality: options.jpegAlignQuality,
  }
  const emit = async (event: TrainEvent) => options.onProgress?.(event)
  const headGenerators = task === 'attribution' ? settings.trainOn : []
  const trainImages = await loadSplit({
    root: options.dataRoot,
    split: 'train',
    generators: settings.trainOn,
    task,
    headGenerators,
    limitPerClass: options.limitPerClass,
    manifestUrl: options.manifestUrl,
  })
  const valGenerators = task === 'attribution' ? settings.trainOn : settings.valOn
  const valImages = await loadSplit({
    root: options.dataRoot,
    split: 'val',
    generators: valGenerators,
    task,
    headGenerators,
    limitPerClass: options.valLimitPerClass,
    manifestUrl: options.manifestUrl,
  })
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ settings, train: trainImages.map((image) => relative(options.dataRoot, image.path)) }))
    .digest('hex')

  const detector = await createDetector(ref.name, { task, generators: headGenerators, seed })
  const optimizer = new Optimizer(settings.optimizer)
  try {
    const batches = new BatchSource(trainImages, {
      input: ref.input,
      augmentations: ref.entry.augmentations,
      seed,
      batchSize: settings.batchSize,
      jpegAlignQuality: options.jpegAlignQuality,
    })
    const stepsPerEpoch = batches.stepsPerEpoch
    const totalSteps = stepsPerEpoch * settings.epochs
    const valTensors = await prepareEvalTensors(detector, valImages)
    const trainSet = new Set(settings.trainOn)
    const ownVal = valImages.filter((image) => trainSet.has(image.generator))

    let state: CheckpointExtra = { history: [], bestEpoch: 0, bestAccuracy: -1, epochLossSum: 0, epochLossCount: 0, stoppedEarly: false }
    let best: TensorValues | undefined
    let step = 0
    if (options.checkpointDir) {
      const checkpoint = await loadCheckpoint<CheckpointExtra>(options.checkpointDir)
      if (checkpoint) {
        if (checkpoint.fingerprint !== fingerprint) throw new CheckpointMismatchError(options.checkpointDir)
        detector.params.load(checkpoint.groups.params ?? new Map())
        optimizer.load(checkpoint.step, checkpoint.groups.optimizer ?? new Map())
        best = checkpoint.groups.best
        state = checkpoint.extra
        step = checkpoint.step
      }
    }
    const resumedFromStep = step
    const checkpoint = async () => {
      if (!options.checkpointDir) return
      const groups: Record<string, Map<string, tf.Tensor>> = { params: detector.params.all(), optimizer: optimizer.state() }
      const bestTensors = best ? new Map([...best].map(([name, value]) => [name, tf.tensor(value.data, value.shape)])) : undefined
      if (bestTensors) groups.best = bestTensors
      const path = await saveCheckpoint(options.checkpointDir, { step, fingerprint, extra: state }, groups)
      for (const tensor of bestTensors?.values() ?? []) tensor.dispose()
      await emit({ type: 'checkpoint', step, path })
    }

    await emit({
      type: 'start',
      model: ref.name,
      backend: tf.getBackend(),
      epochs: settings.epochs,
      stepsPerEpoch,
      totalSteps,
      trainImages: trainImages.length,
      valImages: valImages.length,
      resumedFromStep,
    })
    const trainable = [...detector.params.trainable.values()]
    let secondsPerStep = 0
    const every = options.checkpointEvery ?? 20
    const fetch = (at: number): Promise<Batch> | undefined => {
      if (at >= totalSteps) return undefined
      const pending = batches.batch(Math.floor(at / stepsPerEpoch), at % stepsPerEpoch)
      pending.catch(() => undefined)
      return pending
    }
    let next = fetch(step)
    while (step < totalSteps && !state.stoppedEarly) {
      if (options.signal?.aborted) {
        await checkpoint()
        throw new TrainingCancelledError(step)
      }
      const stepStarted = performance.now()
      const epochIndex = Math.floor(step / stepsPerEpoch)
      const batch = await next!
      next = fetch(step + 1)
      const lr = cosineLearningRate(step, totalSteps, settings.optimizer.learningRate, settings.warmupSteps)
      const loss = await trainStep(detector, optimizer, trainable, batch, lr)
      step++
      state.epochLossSum += loss
      state.epochLossCount++
      const elapsed = (performance.now() - stepStarted) / 1000
      secondsPerStep = secondsPerStep === 0 ? elapsed : 0.8 * secondsPerStep + 0.2 * elapsed
      await emit({
        type: 'step',
        epoch: epochIndex + 1,
        epochs: settings.epochs,
        step,
        totalSteps,
        loss,
        learningRate: lr,
        imagesPerSecond: settings.batchSize / secondsPerStep,
        etaSeconds: (totalSteps - step) * secondsPerStep,
      })
      const endOfEpoch = step % stepsPerEpoch === 0
      if (endOfEpoch) {
        const predictions = await predictLabels(detector, valTensors)
        const evaluation = scorePredictions(valImages, predictions)
        const own = scorePredictions(
          ownVal,
          predictions.filter((_, i) => trainSet.has(valImages[i]!.generator)),
        )
        const isBest = own.accuracy > state.bestAccuracy
        if (isBest) {
          state.bestAccuracy = own.accuracy
          state.bestEpoch = epochIndex + 1
          best = await snapshot(detector)
        }
        const record = {
          epoch: epochIndex + 1,
          trainLoss: state.epochLossSum / Math.max(1, state.epochLossCount),
          valAccuracy: own.accuracy,
          perGenerator: evaluation.perGenerator,
        }
        state.history.push(record)
        state.epochLossSum = 0
        state.epochLossCount = 0
        await emit({ type: 'epoch', epochs: settings.epochs, ...record, isBest })
        if (options.earlyStopPatience !== undefined && record.epoch - state.bestEpoch >= options.earlyStopPatience && step < totalSteps) {
          state.stoppedEarly = true
          await emit({ type: 'early-stop', epoch: record.epoch, bestEpoch: state.bestEpoch })
        }
      }
      if (endOfEpoch || step % every === 0) await checkpoint()
    }
    await next?.catch(() => undefined)
    if (best) detector.params.load(best)
    const evaluation = scorePredictions(valImages, await predictLabels(detector, valTensors))
    await emit({ type: 'done', steps: step, bestEpoch: state.bestEpoch, valAccuracy: state.bestAccuracy, seconds: (Date.now() - started) / 1000 })
    return {
      detector,
      history: state.history,
      bestEpoch: state.bestEpoch,
      valAccuracy: state.bestAccuracy,
      evaluation,
      steps: step,
      resumedFromStep,
      stoppedEarly: state.stoppedEarly,
      settings,
    }
  } catch (error) {
    detector.dispose()
    throw error
  } finally {
    optimizer.dispose()
  }
}

/**
 * One forward + backward + update; BatchNorm statistics are assigned after the update. Resolves to the loss, read
 * asynchronously (the only read a GPU backend allows under Node); the update is applied before it resolves.
 */
export async function trainStep(detector: Detector, optimizer: Optimizer, trainable: tf.Variable[], batch: Batch, lr: number): Promise<number> {
  const classes = detector.labels.length
  const n = batch.labels.length
  const { height, width } = detector.info.input
  const ctx = { training: true, updates: [] as Array<{ variable: tf.Variable; value: tf.Tensor }>, bnMomentum: Math.max(0.1, 1 / (optimizer.stepCount + 1)) }
  const lossValue = tf.tidy(() => {
    const images = tf.tensor4d(batch.images, [n, height, width, 3])
    const targets = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), classes)
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(targets, detector.forward(images, ctx)) as tf.Scalar, trainable)
    optimizer.apply(detector.params.trainable, grads, lr)
    return value
  })
  for (const update of ctx.updates) {
    update.variable.assign(update.value)
    update.value.dispose()
  }
  const loss = (await lossValue.data())[0]!
  lossValue.dispose()
  if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} (lower the learning rate)`)
  return loss
}

async function snapshot(detector: Detector): Promise<TensorValues> {
  const values: TensorValues = new Map()
  for (const [name, variable] of detector.params.all())
    values.set(name, { shape: [...variable.shape], data: Float32Array.from((await variable.data()) as Float32Array) })
  return values
}
