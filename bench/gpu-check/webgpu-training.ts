/**
 * Sections `train-resnet18` and `train-resnet50`: one training step (forward, backward, SGD with momentum and
 * weight decay, BatchNorm statistics) on tfjs's `webgpu` backend, built from the zoo's own layers: ResNet-50 is
 * the zoo's `resnet50` detector; ResNet-18 is the zoo's ResNet trunk with basic blocks 2-2-2-2 (torchvision's
 * resnet18). Each step ends with an asynchronous read of the loss, so its time covers the whole GPU work.
 */
import { requestWebGpuAdapter } from '@genimage/training/webgpu'
import { registerBatchNormGradient, registerFusedTrainingKernels, type ResolveTfBackendOptions, resolveTfBackend } from '@genimage/training/tf'
import { Optimizer } from '@genimage/training/train'
import { createDetector, type ForwardContext, type Layer, Linear, ParamStore, resnetTrunk, Sequential } from '@genimage/training/zoo'
import * as tf from '@tensorflow/tfjs'
import type { SectionResult, WorkloadKey } from './results.ts'

export interface TrainingSettings {
  model: 'resnet18' | 'resnet50'
  size: number
  batch: number
  warmup: number
  steps: number
  /** Stop timing after this many seconds (at least 2 timed steps, or 1 when `steps` is 1). */
  seconds: number
}

/**
 * Makes `webgpu` the active tfjs backend, asked for by name (so a software adapter serves too): through the
 * project's resolver when it knows `webgpu`, else by hand with the same gradient and fused kernels it registers.
 */
async function useWebGpuBackend(): Promise<string> {
  try {
    const options: Record<string, unknown> = { backend: 'webgpu', priority: ['webgpu'], log: () => {} }
    const resolved = await resolveTfBackend(options as ResolveTfBackendOptions)
    if (resolved.name === 'webgpu') return 'tfjs webgpu backend started by the project resolver (asked for by name)'
  } catch (error) {
    process.stderr.write(`  project resolver did not start webgpu (${(error as Error).message.split('\n')[0]}); starting it directly\n`)
  }
  await requestWebGpuAdapter()
  await import('@tensorflow/tfjs-backend-webgpu')
  if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') returned false")
  registerBatchNormGradient(tf)
  registerFusedTrainingKernels(tf)
  return 'tfjs webgpu backend started directly (@tensorflow/tfjs-backend-webgpu on Dawn)'
}

/** torchvision's resnet18 (7×7 stem, max-pool, basic blocks 2-2-2-2, widths 64…512) from the zoo's layers. */
function resnet18(store: ParamStore, classes: number): Layer {
  const { trunk, features } = resnetTrunk(store, 'backbone', {
    inChannels: 3,
    stem: { width: 64, kernel: 7, stride: 2, maxPool: true },
    block: 'basic',
    stages: [64, 128, 256, 512].map((width, i) => ({ blocks: 2, width, stride: i === 0 ? 1 : 2 })),
  })
  return new Sequential([trunk, new Linear(store, 'head', features, classes)])
}

async function buildNetwork(model: TrainingSettings['model']): Promise<{ store: ParamStore; network: Layer }> {
  if (model === 'resnet50') {
    const detector = await createDetector('resnet50', { seed: 1 })
    return { store: detector.params, network: detector.network }
  }
  const store = new ParamStore(1)
  return { store, network: resnet18(store, 2) }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN

/** Median seconds per training step on tfjs `webgpu`, after warm-up steps (the first compiles the shaders). */
export async function measureWebGpuTraining(settings: TrainingSettings): Promise<SectionResult> {
  const section = `train-${settings.model}`
  const notes = [await useWebGpuBackend()]
  const { store, network } = await buildNetwork(settings.model)
  const trainable = [...store.trainable.values()]
  const optimizer = new Optimizer({ kind: 'sgd', learningRate: 0.01, weightDecay: 1e-4, momentum: 0.9 })
  const images = tf.randomNormal([settings.batch, settings.size, settings.size, 3], 0, 1, 'float32', 1) as tf.Tensor4D
  const targets = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: settings.batch }, (_, i) => i % 2),
      'int32',
    ),
    2,
  )
  const step = async (): Promise<number> => {
    const ctx: ForwardContext = { training: true, updates: [], bnMomentum: 0.1 }
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(targets, network.forward(images, ctx)) as tf.Scalar, trainable)
      optimizer.apply(store.trainable, grads, 0.01)
      return value
    })
    for (const update of ctx.updates) {
      update.variable.assign(update.value)
      update.value.dispose()
    }
    const value = (await loss.data())[0] ?? Number.NaN
    loss.dispose()
    return value
  }
  try {
    const warm: number[] = []
    for (let i = 0; i < settings.warmup; i++) {
      const t = performance.now()
      await step()
      warm.push((performance.now() - t) / 1000)
      process.stderr.write(`  ${section} warm-up step ${i + 1}/${settings.warmup}: ${warm.at(-1)?.toFixed(2)} s\n`)
    }
    const tensorsBefore = tf.memory().numTensors
    const times: number[] = []
    const minSteps = Math.min(2, settings.steps)
    const until = performance.now() + settings.seconds * 1000
    let loss = Number.NaN
    while (times.length < settings.steps && (times.length < minSteps || performance.now() < until)) {
      const t = performance.now()
      loss = await step()
      times.push((performance.now() - t) / 1000)
    }
    const tensorGrowth = tf.memory().numTensors - tensorsBefore
    const seconds = median(times)
    const detail =
      `median of ${times.length} step(s) after ${settings.warmup} warm-up (first ${warm[0]?.toFixed(1) ?? '—'} s, shader compiles); ` +
      `loss ${loss.toFixed(3)}; tensors ${tensorGrowth >= 0 ? '+' : ''}${tensorGrowth} over the timed steps; ${trainable.length} trainable tensors`
    process.stderr.write(`  ${section} webgpu: ${seconds.toFixed(3)} s/step (${detail})\n`)
    if (!Number.isFinite(loss)) throw new Error(`loss is ${loss}: the webgpu training step computed garbage`)
    return { section, ok: true, notes, measurements: [{ workload: section as WorkloadKey, side: 'webgpu', value: seconds, unit: 's/step', detail }] }
  } finally {
    tf.dispose([images, targets])
    optimizer.dispose()
    store.dispose()
  }
}
