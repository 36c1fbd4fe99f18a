import type { Tensor } from '@tensorflow/tfjs'
import type { Tf } from './backends.ts'

/** Backends whose tensors Node cannot read synchronously: tfjs-backend-webgpu's `dataSync` needs OffscreenCanvas. */
const ASYNC_ONLY_BACKENDS = new Set(['webgpu'])

/** Whether `dataSync()`/`arraySync()` work on the active backend under Node. */
export function readsSynchronously(tf: Tf): boolean {
  return !ASYNC_ONLY_BACKENDS.has(tf.getBackend())
}

/**
 * Runs `read`, code that reads tensors synchronously (the ONNX export), where that works. On a backend that
 * reads only asynchronously (`webgpu`), `tensors` are read once with `data()` first (the backend keeps that copy
 * on the CPU) and `cpu` is the active backend while `read` runs: the tensors it uses move to `cpu`, and what it
 * computes from them is computed there. The previous backend is active again afterwards.
 *
 * @example
 * const bytes = await withSynchronousReads(tf, detector.params.all().values(), () => exportDetectorToOnnx(detector))
 */
export async function withSynchronousReads<T>(tf: Tf, tensors: Iterable<Tensor>, read: () => T): Promise<T> {
  if (readsSynchronously(tf)) return read()
  const active = tf.getBackend()
  await Promise.all([...tensors].map((tensor) => tensor.data()))
  await tf.setBackend('cpu')
  try {
    return read()
  } finally {
    await tf.setBackend(active)
  }
}
