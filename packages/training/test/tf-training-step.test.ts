import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { resolveTfBackend } from '../src/tf/index.ts'

type SymbolicTensor = tf.SymbolicTensor

/** A tiny ResNet-style net: linear-activation convs (the fused path), batch norm, max-pool, residual add. */
function tinyResidualNet(seed: number): tf.LayersModel {
  const init = (offset: number) => tf.initializers.glorotNormal({ seed: seed + offset })
  const conv = (x: SymbolicTensor, filters: number, kernelSize: number, strides: number, offset: number) =>
    tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: init(offset) }).apply(x) as SymbolicTensor
  const bn = (x: SymbolicTensor) => tf.layers.batchNormalization({ epsilon: 1e-5 }).apply(x) as SymbolicTensor
  const relu = (x: SymbolicTensor) => tf.layers.activation({ activation: 'relu' }).apply(x) as SymbolicTensor
  const input = tf.input({ shape: [16, 16, 3] })
  const stem = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(relu(bn(conv(input, 8, 7, 2, 0)))) as SymbolicTensor
  const main = bn(conv(relu(bn(conv(stem, 16, 3, 2, 1))), 16, 3, 1, 2))
  const shortcut = bn(conv(stem, 16, 1, 2, 3))
  const merged = relu(tf.layers.add().apply([main, shortcut]) as SymbolicTensor)
  const pooled = tf.layers.globalAveragePooling2d({}).apply(merged) as SymbolicTensor
  return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2, kernelInitializer: init(4) }).apply(pooled) as SymbolicTensor })
}

function batch(seed: number) {
  const images = tf.randomNormal([8, 16, 16, 3], 0, 1, 'float32', seed)
  const labels = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 1, 0, 1, 0], 'int32'), 2)
  return { images, labels }
}

function lossOf(model: tf.LayersModel, images: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(labels, model.apply(images, { training: true }) as tf.Tensor) as tf.Scalar
}

async function gradientsOn(backend: string): Promise<Float32Array[]> {
  await tf.setBackend(backend)
  const model = tinyResidualNet(3)
  const { images, labels } = batch(5)
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable)
  const { grads, value } = tf.variableGrads(() => lossOf(model, images, labels), variables)
  const values = await Promise.all(variables.map(async (v) => (await grads[v.name]!.data()) as Float32Array))
  tf.dispose([images, labels, value, ...Object.values(grads)])
  model.dispose()
  return values
}

beforeAll(async () => {
  await resolveTfBackend({ priority: ['wasm'], log: () => {} })
})

/** The tiny residual net, a batch and plain SGD over its trainable weights, on the `wasm` backend. */
async function sgdOnWasm(options: { seed: number; batchSeed: number; learningRate: number }) {
  await tf.setBackend('wasm')
  const model = tinyResidualNet(options.seed)
  const { images, labels } = batch(options.batchSeed)
  const optimizer = tf.train.sgd(options.learningRate)
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable)
  return { model, images, labels, optimizer, variables }
}

describe('a ResNet-style training step on wasm', () => {
  it('gives the same weight gradients as the cpu backend', async () => {
    const cpu = await gradientsOn('cpu')
    const wasm = await gradientsOn('wasm')
    expect(wasm).toHaveLength(cpu.length)
    cpu.forEach((expected, i) => {
      const actual = wasm[i] as Float32Array
      const scale = Math.max(...expected.map(Math.abs), 1e-8)
      const diff = Math.max(...actual.map((v, j) => Math.abs(v - (expected[j] as number))))
      expect(diff / scale).toBeLessThan(1e-3)
    })
  })

  it('never computes the gradient of the input images', async () => {
    const { model, images, labels, optimizer, variables } = await sgdOnWasm({ seed: 1, batchSeed: 2, learningRate: 0.05 })
    const profile = await tf.profile(() => {
      optimizer.minimize(() => lossOf(model, images, labels), false, variables)
    })
    const inputGradShapes = profile.kernels.filter((k) => k.name === 'Conv2DBackpropInput').map((k) => k.outputShapes[0])
    expect(inputGradShapes).toHaveLength(3)
    expect(inputGradShapes).not.toContainEqual([8, 16, 16, 3])
    tf.dispose([images, labels])
    model.dispose()
  })

  it('lowers the loss over a few SGD steps', async () => {
    const { model, images, labels, optimizer, variables } = await sgdOnWasm({ seed: 2, batchSeed: 4, learningRate: 0.1 })
    const losses: number[] = []
    for (let step = 0; step < 8; step++) {
      const loss = optimizer.minimize(() => lossOf(model, images, labels), true, variables)
      losses.push((await loss!.data())[0] as number)
      loss!.dispose()
    }
    expect(losses.at(-1)).toBeLessThan((losses[0] as number) * 0.7)
    tf.dispose([images, labels])
    model.dispose()
  })
})
