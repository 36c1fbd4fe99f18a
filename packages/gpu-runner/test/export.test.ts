import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { IMAGENET_MEAN, IMAGENET_STD, ModelCard, type InputConfig } from '@genimage/shared'
import { OnnxGraphBuilder } from '@genimage/shared/onnx'
import { resolveZooModel } from '@genimage/shared/zoo'
import * as ort from 'onnxruntime-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportDetectorToOnnx, importOnnxDetector } from '@genimage/training/export'
import { loadModel } from '../src/repository/model-repository.ts'
import { resolveTfBackend } from '@genimage/training/tf'
import { Optimizer } from '@genimage/training/train'
import { trainStep } from '@genimage/training/train'
import { createDetector, implementedArchitectures } from '@genimage/training/zoo'

const tempDirs: string[] = []
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'genimage-import-'))
  tempDirs.push(dir)
  return dir
}

beforeAll(async () => {
  await resolveTfBackend({ priority: ['wasm', 'cpu'], log: () => {} })
})
afterAll(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true })
})

async function onnxLogits(bytes: Uint8Array, nhwc: tf.Tensor4D): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes)
  const nchw = tf.transpose(nhwc, [0, 3, 1, 2])
  const out = await session.run({ image: new ort.Tensor('float32', nchw.dataSync() as Float32Array, nchw.shape) })
  nchw.dispose()
  await session.release()
  return out.logits!.data as Float32Array
}

describe.each(implementedArchitectures())('ONNX parity: %s-tiny', (architecture) => {
  it('tfjs and onnxruntime agree within 1e-4 on random inputs, after training moved BatchNorm statistics', async () => {
    const name = `${architecture}-tiny`
    const size = resolveZooModel(name).input.height
    const detector = await createDetector(name, { task: 'attribution', generators: ['A', 'B'], seed: 5 })
    const optimizer = new Optimizer({ kind: 'sgd', learningRate: 0.01, weightDecay: 0 })
    const batch = { images: tf.randomNormal([4, size, size, 3], 0.2, 1.3, 'float32', 2).dataSync() as Float32Array, labels: [0, 1, 2, 1] }
    for (let i = 0; i < 2; i++) await trainStep(detector, optimizer, [...detector.params.trainable.values()], batch, 0.01)
    const images = tf.randomNormal([3, size, size, 3], 0, 1, 'float32', 9) as tf.Tensor4D
    const expected = detector.predict(images).dataSync() as Float32Array
    const actual = await onnxLogits(exportDetectorToOnnx(detector), images)
    expect(actual.length).toBe(3 * 3)
    let worst = 0
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i]! - actual[i]!) / Math.max(1, Math.abs(expected[i]!)))
    expect(worst).toBeLessThan(1e-4)
    images.dispose()
    optimizer.dispose()
    detector.dispose()
  })
})

/** A small NCHW detector built by hand: conv 3→4 (3×3, stride 2) → ReLU → global pool → linear 4→2. */
function handBuiltNchwModel(size: number): Uint8Array {
  const b = new OnnxGraphBuilder({ opset: 17 })
  const x = b.input('pixel_values', 'float32', ['N', 3, size, size])
  const weight = Float32Array.from({ length: 4 * 3 * 9 }, (_, i) => Math.sin(i) * 0.3)
  const conv = b.node('Conv', [x, b.initializer('w', weight, [4, 3, 3, 3])], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] })
  const pooled = b.node('Flatten', [b.node('GlobalAveragePool', [b.node('Relu', [conv])])], { axis: 1 })
  const fc = b.node('Gemm', [
    pooled,
    b.initializer('fc', Float32Array.from([1, -1, 0.5, -0.5, 2, 0, 0, 2]), [4, 2]),
    b.initializer('fc_b', Float32Array.from([0.1, -0.1]), [2]),
  ])
  b.output(fc, 'float32', ['N', 2], { as: 'scores' })
  return b.toBytes()
}

describe('importOnnxDetector', () => {
  const input: InputConfig = {
    name: 'pixel_values',
    layout: 'NCHW',
    height: 32,
    width: 32,
    resize: 'shorter-side-center-crop',
    cropPct: 0.875,
    interpolation: 'bilinear',
    channelOrder: 'RGB',
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
  }

  it('registers an external NCHW model as a folder the runner loads and serves', async () => {
    const dir = join(await tempDir(), 'handmade-nchw')
    const card = await importOnnxDetector({
      source: handBuiltNchwModel(32),
      outDir: dir,
      name: 'handmade-nchw',
      architecture: 'tiny-cnn',
      task: 'binary',
      labels: ['nature', 'ai'],
      input,
      outputName: 'scores',
    })
    expect(card.provenance.kind).toBe('imported')
    expect(ModelCard.parse(JSON.parse(await readFile(join(dir, 'card.json'), 'utf8')))).toEqual(card)
    const loaded = await loadModel(dir, { providers: ['cpu'], maxPixels: 10_000_000 })
    expect(loaded?.card.name).toBe('handmade-nchw')
    await loaded?.session.release()
  })

  it('refuses a model whose input name, size or label count does not match the config', async () => {
    const outDir = join(await tempDir(), 'bad')
    const base = {
      source: handBuiltNchwModel(32),
      outDir,
      name: 'bad',
      architecture: 'tiny-cnn',
      task: 'binary' as const,
      labels: ['nature', 'ai'],
      input,
      outputName: 'scores',
    }
    await expect(importOnnxDetector({ ...base, input: { ...input, name: 'image' } })).rejects.toMatchObject({ code: 'input_mismatch' })
    await expect(importOnnxDetector({ ...base, input: { ...input, layout: 'NHWC' } })).rejects.toMatchObject({ code: 'input_mismatch' })
    await expect(importOnnxDetector({ ...base, task: 'attribution', labels: ['nature', 'ADM', 'GLIDE'] })).rejects.toMatchObject({ code: 'output_mismatch' })
    await expect(importOnnxDetector({ ...base, source: new Uint8Array([1, 2, 3]) })).rejects.toMatchObject({ code: 'invalid_model' })
  })
})
