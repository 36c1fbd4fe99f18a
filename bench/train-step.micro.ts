/**
 * Convolution micro-benchmark on the wasm backend: forward, input gradient and filter gradient of each
 * convolution shape in the train-step nets (ResNet-18-style 128×128 batch 16, small CNN 64×64 batch 32),
 * computed by the wasm kernels (XNNPACK + the project's gradient kernels) and by onnxruntime (MLAS) through
 * the project's `onnx` convolution kernels, copies and layout changes included. The two alternate in one
 * process, so the ratios hold on a busy machine; GFLOP/s counts 2 × multiply-adds.
 *
 *   npx tsx bench/train-step.micro.ts [--threads 2] [--repeats 5] [--only resnet18|small-cnn]
 */
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import { resolveTfBackend, useConvKernels } from '@genimage/training/tf'

type Shape4 = [number, number, number, number]
interface ConvCase {
  net: 'resnet18' | 'small-cnn'
  x: Shape4
  kernel: number
  outChannels: number
  stride: number
  calls: number
}

const { values: args } = parseArgs({
  options: { threads: { type: 'string', default: '2' }, repeats: { type: 'string', default: '5' }, only: { type: 'string' } },
})
const threads = Number(args.threads)
const repeats = Number(args.repeats)

/** Distinct convolutions of the two nets and how often each occurs per step. */
const cases: ConvCase[] = [
  { net: 'resnet18', x: [16, 128, 128, 3], kernel: 7, outChannels: 64, stride: 2, calls: 1 },
  { net: 'resnet18', x: [16, 32, 32, 64], kernel: 3, outChannels: 64, stride: 1, calls: 4 },
  { net: 'resnet18', x: [16, 32, 32, 64], kernel: 3, outChannels: 128, stride: 2, calls: 1 },
  { net: 'resnet18', x: [16, 32, 32, 64], kernel: 1, outChannels: 128, stride: 2, calls: 1 },
  { net: 'resnet18', x: [16, 16, 16, 128], kernel: 3, outChannels: 128, stride: 1, calls: 3 },
  { net: 'resnet18', x: [16, 16, 16, 128], kernel: 3, outChannels: 256, stride: 2, calls: 1 },
  { net: 'resnet18', x: [16, 16, 16, 128], kernel: 1, outChannels: 256, stride: 2, calls: 1 },
  { net: 'resnet18', x: [16, 8, 8, 256], kernel: 3, outChannels: 256, stride: 1, calls: 3 },
  { net: 'resnet18', x: [16, 8, 8, 256], kernel: 3, outChannels: 512, stride: 2, calls: 1 },
  { net: 'resnet18', x: [16, 8, 8, 256], kernel: 1, outChannels: 512, stride: 2, calls: 1 },
  { net: 'resnet18', x: [16, 4, 4, 512], kernel: 3, outChannels: 512, stride: 1, calls: 3 },
  { net: 'small-cnn', x: [32, 64, 64, 3], kernel: 3, outChannels: 32, stride: 1, calls: 1 },
  { net: 'small-cnn', x: [32, 32, 32, 32], kernel: 3, outChannels: 64, stride: 1, calls: 1 },
  { net: 'small-cnn', x: [32, 16, 16, 64], kernel: 3, outChannels: 128, stride: 1, calls: 1 },
  { net: 'small-cnn', x: [32, 8, 8, 128], kernel: 3, outChannels: 128, stride: 1, calls: 1 },
]

const resolved = await resolveTfBackend({ priority: ['wasm'], threads, log: () => {} })
const ops = ['forward', 'input-grad', 'filter-grad'] as const
type Op = (typeof ops)[number]
const modes = ['wasm', 'onnx'] as const

function milliseconds(run: () => tf.Tensor): number {
  const start = performance.now()
  const out = run()
  out.dataSync()
  out.dispose()
  return performance.now() - start
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] as number
const totals: Record<string, Record<Op, Record<(typeof modes)[number], number>>> = {}
console.log(`wasm backend, ${resolved.threads} thread(s); onnxruntime ${threads} thread(s); median of ${repeats}, wall ms (GFLOP/s)`)
for (const c of cases.filter((c) => args.only == null || c.net === args.only)) {
  const x = tf.randomNormal(c.x) as tf.Tensor4D
  const filterShape: Shape4 = [c.kernel, c.kernel, c.x[3], c.outChannels]
  const filter = tf.randomNormal(filterShape) as tf.Tensor4D
  const y = tf.conv2d(x, filter, c.stride, 'same')
  const dy = tf.randomNormal(y.shape)
  const attrs = { strides: c.stride, pad: 'same', dataFormat: 'NHWC' }
  const runs: Record<Op, () => tf.Tensor> = {
    forward: () => tf.conv2d(x, filter, c.stride, 'same'),
    'input-grad': () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: c.x }) as tf.Tensor,
    'filter-grad': () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape }) as tf.Tensor,
  }
  const gflop = (2 * y.size * c.kernel * c.kernel * c.x[3]) / 1e9
  const times = Object.fromEntries(ops.map((op) => [op, { wasm: [] as number[], onnx: [] as number[] }])) as Record<Op, Record<'wasm' | 'onnx', number[]>>
  for (let i = 0; i <= repeats; i++) {
    for (const mode of modes) {
      useConvKernels(resolved.tf, { mode, threads })
      for (const op of ops) {
        const ms = milliseconds(runs[op])
        if (i > 0) times[op][mode].push(ms)
      }
    }
  }
  const cells = ops.map((op) => {
    const [w, o] = [median(times[op].wasm), median(times[op].onnx)]
    const net = totals[c.net] ?? (Object.fromEntries(ops.map((k) => [k, { wasm: 0, onnx: 0 }])) as Record<Op, Record<'wasm' | 'onnx', number>>)
    totals[c.net] = net
    net[op].wasm += w * c.calls
    net[op].onnx += o * c.calls
    return `${op} ${w.toFixed(1)} / ${o.toFixed(1)} (${((gflop / o) * 1e3).toFixed(0)})`
  })
  console.log(`${c.net} x ${c.x.join('×')} k${c.kernel} →${c.outChannels} s${c.stride} ×${c.calls}: wasm / onnx ms: ${cells.join(', ')}`)
  tf.dispose([x, filter, y, dy])
}
for (const [net, byOp] of Object.entries(totals)) {
  const wasm = ops.reduce((s, op) => s + byOp[op].wasm, 0)
  const onnx = ops.reduce((s, op) => s + byOp[op].onnx, 0)
  console.log(
    `${net} per step: ${ops.map((op) => `${op} ${byOp[op].wasm.toFixed(0)} → ${byOp[op].onnx.toFixed(0)} ms`).join(', ')}; ` +
      `all convolutions ${wasm.toFixed(0)} → ${onnx.toFixed(0)} ms (${(wasm / onnx).toFixed(1)}× faster)`,
  )
}
