import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { batchNormTraining, resolveTfBackend } from '../src/tf/index.ts'
import { BATCH_NORM_KERNELS, BATCH_NORM_TRAINING } from '../src/tf/fused-training/batch-norm-kernels.ts'
import { relativeError } from './relative-error.ts'

async function floats(tensors: tf.Tensor[]): Promise<Float32Array[]> {
  const values = await Promise.all(tensors.map(async (t) => (await t.data()) as Float32Array))
  tf.dispose(tensors)
  return values
}

type Norm = (x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, eps: number) => { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor }

const composed: Norm = (x, scale, offset, eps) => {
  const { mean, variance } = tf.moments(
    x,
    x.shape.slice(0, -1).map((_, axis) => axis),
  )
  return { y: tf.batchNorm(x, mean, variance, offset, scale, eps), mean, variance }
}
const fused: Norm = (x, scale, offset, eps) => batchNormTraining(tf, x, scale, offset, eps)

/** Outputs and the gradients of Σ(y·dy + mean·dMean + variance·dVariance) in x, scale and offset. */
function outputsAndGradients(norm: Norm, shape: number[], seed: number): tf.Tensor[] {
  const channels = shape[shape.length - 1]!
  const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), tf.randomUniform([channels], 0.5, 3, 'float32', seed + 1)), 4)
  const scale = tf.randomNormal([channels], 1, 0.5, 'float32', seed + 2)
  const offset = tf.randomNormal([channels], 0, 1, 'float32', seed + 3)
  const dy = tf.randomNormal(shape, 0, 1, 'float32', seed + 4)
  const dMean = tf.randomNormal([channels], 0, 1, 'float32', seed + 5)
  const dVariance = tf.randomNormal([channels], 0, 1, 'float32', seed + 6)
  const { y, mean, variance } = norm(x, scale, offset, 1e-5)
  const loss = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
    const out = norm(a, s, o, 1e-5)
    return tf.addN([tf.sum(tf.mul(out.y, dy)), tf.sum(tf.mul(out.mean, dMean)), tf.sum(tf.mul(out.variance, dVariance))]) as tf.Scalar
  }
  return [y, mean, variance, ...tf.grads(loss)([x, scale, offset])]
}

const names = ['y', 'mean', 'variance', 'dx', 'dScale', 'dOffset']

beforeAll(async () => {
  await resolveTfBackend({ priority: ['wasm'], threads: 2, log: () => {} })
})

describe('fused batch norm in training mode', () => {
  it.each([
    { backend: 'wasm', shape: [4, 6, 5, 7] },
    { backend: 'wasm', shape: [9, 3] },
    { backend: 'cpu', shape: [3, 4, 4, 6] },
  ])('matches tf.moments + tf.batchNorm computed on cpu, values and gradients ($backend, x $shape)', async ({ backend, shape }) => {
    await tf.setBackend('cpu')
    const reference = await floats(tf.tidy(() => outputsAndGradients(composed, shape, 11)))
    await tf.setBackend(backend)
    const actual = await floats(tf.tidy(() => outputsAndGradients(fused, shape, 11)))
    for (const [i, name] of names.entries()) {
      expect(relativeError(actual[i]!, reference[i]!), name).toBeLessThan(1e-4)
    }
  })

  it('runs one kernel forward on wasm instead of the moments ops', async () => {
    await tf.setBackend('wasm')
    const x = tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 3)
    const [scale, offset] = [tf.ones([4]), tf.zeros([4])]
    const profile = await tf.profile(() =>
      tf.tidy(() => {
        const { y, mean, variance } = batchNormTraining(tf, x, scale, offset, 1e-3)
        return [y, mean, variance]
      }),
    )
    const kernels = profile.kernels.map((k) => k.name)
    expect(kernels).toEqual([BATCH_NORM_TRAINING])
    tf.dispose([x, scale, offset, ...(profile.result as tf.Tensor[])])
  })

  it('rejects parameters that are not one value per channel', async () => {
    await tf.setBackend('wasm')
    const x = tf.zeros([2, 4])
    expect(() => batchNormTraining(tf, x, tf.ones([3]), tf.zeros([3]), 1e-3)).toThrow(/per-channel parameters of shape \[4\]/)
    tf.dispose(x)
  })
})

/** A conv → batch norm → relu → dense model; its loss gradients and the moving statistics after one call. */
function layersTrainingStep(model: tf.LayersModel, images: tf.Tensor, labels: tf.Tensor): tf.Tensor[] {
  const bn = model.layers.find((l) => l.getClassName() === 'BatchNormalization')!
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable)
  const { value, grads } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(labels, model.apply(images, { training: true }) as tf.Tensor) as tf.Scalar,
    variables,
  )
  const stats = bn
    .getWeights()
    .slice(2)
    .map((w) => w.clone())
  return [value, ...variables.map((v) => grads[v.name]!), ...stats]
}

describe('tf.layers.batchNormalization in training', () => {
  it.each(['wasm', 'cpu'])("gives the stock layer's loss, gradients and moving statistics (%s)", async (backend) => {
    await tf.setBackend(backend)
    const input = tf.input({ shape: [8, 8, 3] })
    const conv = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false }).apply(input) as tf.SymbolicTensor
    const normed = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }).apply(conv) as tf.SymbolicTensor
    const pooled = tf.layers.globalAveragePooling2d({}).apply(tf.layers.activation({ activation: 'relu' }).apply(normed) as tf.SymbolicTensor)
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(pooled) as tf.SymbolicTensor })
    const bn = model.layers.find((l) => l.getClassName() === 'BatchNormalization')!
    const initialStats = bn
      .getWeights()
      .slice(2)
      .map((w) => w.clone())
    const images = tf.randomNormal([5, 8, 8, 3], 1, 2, 'float32', 21)
    const labels = tf.oneHot(tf.tensor1d([0, 1, 1, 0, 1], 'int32'), 2)

    const kernels = (await tf.profile(() => tf.tidy(() => layersTrainingStep(model, images, labels)))).kernels.map((k) => k.name)
    expect(kernels).toContain(BATCH_NORM_TRAINING)
    expect(kernels).not.toContain('FusedBatchNorm')
    bn.setWeights([...bn.getWeights().slice(0, 2), ...initialStats])
    const withFused = await floats(tf.tidy(() => layersTrainingStep(model, images, labels)))

    bn.setWeights([...bn.getWeights().slice(0, 2), ...initialStats])
    const config = BATCH_NORM_KERNELS.find((k) => k.kernelName === BATCH_NORM_TRAINING && k.backendName === backend)!
    tf.unregisterKernel(BATCH_NORM_TRAINING, backend)
    try {
      const stock = await floats(tf.tidy(() => layersTrainingStep(model, images, labels)))
      expect(withFused.length).toBe(stock.length)
      for (let i = 0; i < stock.length; i++) expect(relativeError(withFused[i]!, stock[i]!), `output ${i}`).toBeLessThan(1e-4)
      expect(relativeError(withFused.at(-2)!, (await floats([initialStats[0]!.clone()]))[0]!)).toBeGreaterThan(1e-3)
    } finally {
      tf.registerKernel(config)
    }
    tf.dispose([images, labels, ...initialStats])
    model.dispose()
  })
})

describe('ReLU gradient without the float32 Cast', () => {
  it.each(['wasm', 'cpu'])('matches dy·step(x) computed on cpu, +0 and −0 included (%s)', async (backend) => {
    const compute = (reluGrad: (dy: tf.Tensor, x: tf.Tensor) => tf.Tensor) => () => {
      const x = tf.relu(tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 31))
      const shifted = tf.sub(x, tf.mul(tf.randomUniform([3, 5, 4, 6], 0, 1, 'float32', 32), tf.cast(tf.equal(x, 0), 'float32')))
      const dy = tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 33)
      return [reluGrad(dy, x), reluGrad(dy, shifted), reluGrad(dy, tf.neg(x))]
    }
    await tf.setBackend('cpu')
    const reference = await floats(tf.tidy(compute((dy, x) => tf.mul(dy, tf.step(x)))))
    await tf.setBackend(backend)
    const viaGrad = (dy: tf.Tensor, x: tf.Tensor) => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), dy)))(x)
    const actual = await floats(tf.tidy(compute(viaGrad)))
    for (let i = 0; i < reference.length; i++) expect(relativeError(actual[i]!, reference[i]!)).toBe(0)
    const kernelsOf = async (f: (a: tf.Tensor) => tf.Tensor) =>
      (await tf.profile(() => tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(f(a)))(tf.ones([4]))))).kernels.map((k) => k.name)
    const withRelu = await kernelsOf((a) => tf.relu(a))
    const without = await kernelsOf((a) => a)
    const added = withRelu.filter((name) => !without.includes(name))
    expect(added.sort()).toEqual(['Relu', 'Step'])
    expect(withRelu.filter((name) => name === 'Cast').length).toBe(without.filter((name) => name === 'Cast').length)
  })
})

describe('wasm Sum and Mean over leading axes match cpu', () => {
  it.each([
    { shape: [3, 5, 7, 6], axes: [0, 1, 2], keepDims: false },
    { shape: [4, 4, 2, 3], axes: [0, 1, 2], keepDims: true },
    { shape: [7, 10], axes: [0], keepDims: false },
    { shape: [2, 9, 5], axes: [0, 1], keepDims: true },
  ])('x $shape, axes $axes, keepDims $keepDims', async ({ shape, axes, keepDims }) => {
    const compute = () => {
      const x = tf.randomNormal(shape, 1, 2, 'float32', 41)
      return [tf.sum(x, axes, keepDims), tf.mean(x, axes, keepDims)]
    }
    await tf.setBackend('cpu')
    const reference = tf.tidy(compute)
    const shapes = reference.map((t) => t.shape)
    const expected = await floats(reference)
    await tf.setBackend('wasm')
    const actual = tf.tidy(compute)
    expect(actual.map((t) => t.shape)).toEqual(shapes)
    const values = await floats(actual)
    for (let i = 0; i < expected.length; i++) expect(relativeError(values[i]!, expected[i]!)).toBeLessThan(1e-5)
  })
})

describe('wasm max-pool gradient from the forward maxima', () => {
  it.each([
    { size: 2, stride: 2, pad: 'valid' as const },
    { size: 3, stride: 2, pad: 'same' as const },
  ])('matches cpu with ties and windows of −∞ (size $size stride $stride pad $pad)', async ({ size, stride, pad }) => {
    const compute = () => {
      const rows = tf.tensor1d(Array.from({ length: 8 }, (_, r) => (r < 2 ? 1 : 0)))
      const negativeInfinityRows = tf.reshape(rows, [1, 8, 1, 1])
      const base = tf.relu(tf.round(tf.randomNormal([2, 8, 9, 5], 0, 2, 'float32', 51)))
      const x = tf.where(tf.cast(tf.broadcastTo(negativeInfinityRows, [2, 8, 9, 5]), 'bool'), tf.fill([2, 8, 9, 5], -Infinity), base) as tf.Tensor4D
      const dy = tf.randomNormal(tf.maxPool(x, size, stride, pad).shape, 0, 1, 'float32', 52)
      return [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, pad), dy)))(x)]
    }
    await tf.setBackend('cpu')
    const [expected] = await floats(tf.tidy(compute))
    await tf.setBackend('wasm')
    const [actual] = await floats(tf.tidy(compute))
    expect(relativeError(actual!, expected!)).toBeLessThan(1e-5)
  })
})
