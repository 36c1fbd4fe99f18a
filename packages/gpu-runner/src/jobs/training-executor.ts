import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { type RunEpoch, trainCommandLine } from '@genimage/shared'
import { evaluateModelFolder } from '../evaluation/evaluate-model.ts'
import { writeModelFolder } from '@genimage/training/export'
import { trainDetector } from '@genimage/training/train'
import type { RunContext, RunExecutor, RunOutcome } from './job-worker.ts'

const exists = async (path: string) => (await stat(path).catch(() => undefined)) !== undefined

async function historyOf(modelDir: string): Promise<RunEpoch[]> {
  const training = JSON.parse(await readFile(join(modelDir, 'training.json'), 'utf8')) as {
    history: Array<{ epoch: number; trainLoss: number; valAccuracy: number }>
  }
  return training.history.map(({ epoch, trainLoss, valAccuracy }) => ({ epoch, trainLoss, valAccuracy }))
}

/** The command that trains the same model outside the job system (written into the model card). */
function reproducingCommand({ job }: RunContext): string {
  return trainCommandLine({
    model: job.model,
    data: job.spec.dataRoot,
    trainOn: job.trainOn,
    valOn: job.trainOn,
    epochs: job.spec.epochs,
    batchSize: job.spec.batchSize,
    seed: job.seed,
    limitPerClass: job.spec.limitPerClass,
    jpegAlign: job.spec.debiasJpegQuality,
  })
}

/**
 * Runs one experiment run with the training engine: train (resuming from `<artifactDir>/checkpoints` when a
 * previous attempt left one), export the model folder to `<artifactDir>/model`, then score that exported
 * ONNX model on every test set × degradation (with `providers`, default cpu). A run whose model folder
 * already exists skips training.
 */
export function trainingExecutor(options: { providers?: readonly string[] } = {}): RunExecutor {
  return async function trainAndEvaluate(context): Promise<RunOutcome> {
    const { job, signal } = context
    const spec = job.spec
    const modelDir = join(context.artifactDir, 'model')
    let history: RunEpoch[]
    if (await exists(join(modelDir, 'card.json'))) {
      history = await historyOf(modelDir)
    } else {
      const result = await trainDetector({
        model: job.model,
        dataRoot: spec.dataRoot,
        trainOn: job.trainOn,
        valOn: job.trainOn,
        epochs: spec.epochs,
        batchSize: spec.batchSize,
        seed: job.seed,
        checkpointDir: join(context.artifactDir, 'checkpoints'),
        checkpointEvery: spec.checkpointEvery,
        limitPerClass: spec.limitPerClass,
        valLimitPerClass: spec.testLimitPerClass,
        jpegAlignQuality: spec.debiasJpegQuality,
        signal,
        onProgress: (event) => {
          if (event.type === 'start')
            context.progress({
              phase: 'training',
              totalSteps: event.totalSteps,
              epochs: event.epochs,
              step: event.resumedFromStep,
              resumedFromStep: event.resumedFromStep,
              backend: event.backend,
            })
          else if (event.type === 'step')
            context.progress({ step: event.step, epoch: event.epoch, loss: event.loss, imagesPerSecond: event.imagesPerSecond, etaSeconds: event.etaSeconds })
          else if (event.type === 'epoch') context.epoch({ epoch: event.epoch, trainLoss: event.trainLoss, valAccuracy: event.valAccuracy })
        },
      })
      try {
        signal.throwIfAborted()
        context.progress({ phase: 'exporting' })
        await writeModelFolder(result, modelDir, {
          dataRoot: spec.dataRoot,
          command: reproducingCommand(context),
          name: `${job.model}-${job.id}`.toLowerCase().replace(/[^a-z0-9._-]+/g, '-'),
        })
      } finally {
        result.detector.dispose()
      }
      history = result.history.map(({ epoch, trainLoss, valAccuracy }) => ({ epoch, trainLoss, valAccuracy }))
    }
    const cellsTotal = job.testOn.length * job.degradations.length
    context.progress({ phase: 'evaluating', cellsDone: 0, cellsTotal })
    const metrics = await evaluateModelFolder(modelDir, {
      dataRoot: spec.dataRoot,
      testOn: job.testOn,
      degradations: job.degradations,
      degradeReal: spec.degradeReal,
      interpolation: spec.interpolation,
      limitPerClass: spec.testLimitPerClass,
      providers: options.providers,
      signal,
      onCell: (done) => context.progress({ cellsDone: done }),
    })
    return { metrics, history }
  }
}
