import * as tf from '@tensorflow/tfjs'

/**
 * Runs the same computation on tfjs's `cpu` backend (the reference) and on `wasm` (the project's kernels, and
 * convolutions through onnxruntime when routed there); returns both results as plain arrays.
 */
export async function onBothBackends(compute: () => tf.Tensor[]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[] }> {
  const results: Record<string, Float32Array[]> = {}
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend)
    const tensors = tf.tidy(compute)
    results[backend] = await Promise.all(tensors.map(async (t) => (await t.data()) as Float32Array))
    tf.dispose(tensors)
  }
  return { cpu: results.cpu ?? [], wasm: results.wasm ?? [] }
}

/** tfjs padding argument of a 2-D convolution. */
export type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]]

/** The paddings the convolution tests cover: both named modes and an asymmetric explicit one. */
export const CONV_PADDINGS: Pad[] = [
  'same',
  'valid',
  [
    [0, 0],
    [1, 2],
    [2, 1],
    [0, 0],
  ],
]
