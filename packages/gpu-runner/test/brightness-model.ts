import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ModelCardInput } from '@genimage/shared'
import { OnnxGraphBuilder } from '@genimage/shared/onnx'

/**
 * A test model with an answer one can compute by hand: m = mean of the normalised image (mean/std 0.5, so
 * m ∈ [−1, 1]); logits = [−m, m], hence P(ai) = sigmoid(2m). White → 0.881, black → 0.119.
 */
export function brightnessModel(size = 16, layout: 'NCHW' | 'NHWC' = 'NCHW'): Uint8Array {
  const b = new OnnxGraphBuilder()
  const dims = layout === 'NCHW' ? ['N', 3, size, size] : ['N', size, size, 3]
  const x = b.input('image', 'float32', dims)
  const m = b.node('ReduceMean', [x], { axes: [1, 2, 3], keepdims: 1 })
  const flat = b.node('Reshape', [m, b.constInt64([-1, 1])])
  const logits = b.node('Concat', [b.node('Neg', [flat]), flat], { axis: 1 }, { output: 'logits' })
  b.output(logits, 'float32', ['N', 2])
  return b.toBytes()
}

/** Writes a servable model folder (model.onnx + card.json) for the brightness model. */
export async function writeBrightnessModel(dir: string, overrides: Partial<ModelCardInput> = {}, layout: 'NCHW' | 'NHWC' = 'NCHW'): Promise<ModelCardInput> {
  await mkdir(dir, { recursive: true })
  const bytes = brightnessModel(16, layout)
  await writeFile(join(dir, 'model.onnx'), bytes)
  const card: ModelCardInput = {
    name: 'brightness',
    version: '1',
    description: 'test model: P(ai) = sigmoid(2 × mean normalised pixel)',
    architecture: 'test-brightness',
    task: 'binary',
    labels: ['nature', 'ai'],
    sha256: createHash('sha256').update(bytes).digest('hex'),
    input: { layout, height: 16, width: 16, resize: 'stretch', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    provenance: { kind: 'handmade', createdAt: '2026-11-26T00:00:00Z' },
    ...overrides,
  }
  await writeFile(join(dir, 'card.json'), JSON.stringify(card, null, 2))
  return card
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x))
