/**
 * Inference benchmark: the zoo's ResNet-50 (224×224, batch 8, 2 classes) run by tfjs on the resolved backend and,
 * exported to ONNX from the same weights, by onnxruntime-node (CPU provider), in one process. Prints images/s
 * of each (median of `--runs` batches after one warm-up batch) and the ratio, and checks the two agree.
 *
 *   npx tsx bench/inference-onnx-vs-tfjs.ts [--model resnet50] [--batch 8] [--runs 5] [--threads 2] [--backend wasm]
 */
import { parseArgs } from 'node:util'
import * as ort from 'onnxruntime-node'
import { exportDetectorToOnnx } from '@genimage/training/export'
import { resolveTfBackend, type TfBackendName } from '@genimage/training/tf'
import { createDetector } from '@genimage/training/zoo'

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'resnet50' },
    batch: { type: 'string', default: '8' },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    backend: { type: 'string' },
  },
})
const batch = Number(values.batch)
const runs = Number(values.runs)
const threads = Number(values.threads)

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function time(label: string, once: () => Promise<void>): Promise<number> {
  await once()
  const seconds: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    await once()
    seconds.push((performance.now() - started) / 1000)
  }
  const perSecond = batch / median(seconds)
  console.log(`${label.padEnd(34)} ${median(seconds).toFixed(3)} s/batch  ${perSecond.toFixed(1)} images/s`)
  return perSecond
}

const priority = values.backend ? [values.backend as TfBackendName] : (['tensorflow', 'wasm', 'cpu'] as const)
const backend = await resolveTfBackend({ priority, threads })
const { tf } = backend
const detector = await createDetector(values.model!, { seed: 1 })
const { height, width } = detector.info.input
const images = tf.randomNormal([batch, height, width, 3], 0, 1, 'float32', 5) as import('@tensorflow/tfjs').Tensor4D
const nchw = tf.transpose(images, [0, 3, 1, 2])
const onnxInput = new ort.Tensor('float32', (await nchw.data()) as Float32Array, [batch, 3, height, width])
const session = await ort.InferenceSession.create(exportDetectorToOnnx(detector), { intraOpNumThreads: threads, executionProviders: ['cpu'] })

console.log(`${detector.info.name} ${height}×${width}, batch ${batch}, ${runs} timed runs, ${threads} threads`)
const tfjsRate = await time(`tfjs (${backend.name}, ${backend.threads} threads)`, async () => {
  const logits = detector.predict(images)
  await logits.data()
  logits.dispose()
})
const ortRate = await time(`onnxruntime-node (cpu)`, async () => {
  await session.run({ image: onnxInput })
})

const expected = (await detector.predict(images).data()) as Float32Array
const actual = (await session.run({ image: onnxInput })).logits!.data as Float32Array
const worst = expected.reduce((m, v, i) => Math.max(m, Math.abs(v - actual[i]!)), 0)
const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
console.log(`onnxruntime / tfjs throughput: ${(ortRate / tfjsRate).toFixed(2)}×   (max |Δlogit| ${worst.toExponential(2)} of max |logit| ${scale.toFixed(1)})`)
await session.release()
