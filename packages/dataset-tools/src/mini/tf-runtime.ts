import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { resolveTfBackend, type Tf, type TfBackendName } from '@genimage/training/tf'
import * as tf from '@tensorflow/tfjs'

/** The tfjs namespace GenImage-mini computes with (the one training uses). */
export type { Tf }

/** The active tfjs backend and why a faster one was not used. */
export interface TfRuntime {
  tf: Tf
  backend: TfBackendName
  fallbackReason?: string
}

const require = createRequire(import.meta.url)

/**
 * Makes tfjs compute on the WebAssembly backend with XNNPACK's own convolutions and, when wasm starts here, one
 * thread (which keeps results bit-exact from run to run), falling back to the pure JavaScript `cpu` backend when wasm
 * cannot start. Resolved by `resolveTfBackend`, the one resolver training uses too: each backend starts once per
 * process and gets the project's training kernels.
 */
export async function startTf(): Promise<TfRuntime> {
  const { tf: active, name, reasons } = await resolveTfBackend({ priority: ['wasm', 'cpu'], threads: 1, conv: 'wasm', log: () => {} })
  await active.ready()
  const fallbackReason = reasons.map((r) => `${r.name}: ${r.reason}`).join('; ')
  return { tf: active, backend: name, ...(fallbackReason ? { fallbackReason } : {}) }
}

/** Root folder of an installed package, found from its main entry (the upscalerjs packages do not export package.json). */
export function packageRoot(name: string): string {
  let dir = path.dirname(require.resolve(name))
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error(`cannot find the package folder of ${name}`)
    dir = parent
  }
  return dir
}

/** Converts a batch of tensors in [0, 255] (NHWC) into 8-bit RGB buffers, rounding and clamping. */
export async function toRgbBuffers(batch: tf.Tensor4D): Promise<Buffer[]> {
  const [count, height, width, channels] = batch.shape
  const bytes = tf.tidy(() => batch.clipByValue(0, 255).round().cast('int32'))
  const values = await bytes.data()
  bytes.dispose()
  const size = height * width * channels
  return Array.from({ length: count }, (_, i) => Buffer.from(Uint8Array.from(values.subarray(i * size, (i + 1) * size))))
}

/** Stacks equal-sized 8-bit RGB buffers into a float NHWC batch in [-1, 1], the range the family networks work in. */
export function fromRgbSigned(images: readonly Buffer[], height: number, width: number): tf.Tensor4D {
  return tf.tidy(() => fromRgbBuffers(images, height, width).div(127.5).sub(1) as tf.Tensor4D)
}

/** Stacks equal-sized 8-bit RGB buffers into a float NHWC batch with values in [0, 255]. */
export function fromRgbBuffers(images: readonly Buffer[], height: number, width: number): tf.Tensor4D {
  const data = new Float32Array(images.length * height * width * 3)
  for (const [i, image] of images.entries()) data.set(image, i * height * width * 3)
  return tf.tensor4d(data, [images.length, height, width, 3])
}
