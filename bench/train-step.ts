/**
 * Training-step benchmark: forward + backward + SGD update, median of 10 steps after warm-up, for a small
 * CNN (4 conv layers, 64×64, batch 32) and a ResNet-18-style net (128×128, batch 16), on the resolved
 * tfjs backend and on PyTorch CPU (bench/train-step.py, same architectures) in the same run.
 *
 * PyTorch comes from Debian's `python3-torch` (set PYTHON to use another interpreter).
 *
 *   npx tsx bench/train-step.ts [--threads 2] [--steps 10] [--backend wasm] [--only small-cnn|resnet18] [--no-torch] [--profile]
 *     [--conv onnx --conv wasm] [--wasm-threads 1]
 *
 * --conv picks who computes the wasm backend's convolutions (onnxruntime's MLAS or the wasm kernels; default
 * both, one after the other in the same process, each against the same PyTorch run). --wasm-threads sizes the wasm
 * pool apart from --threads (which then sizes onnxruntime's convolution threads and PyTorch's).
 * --profile also prints, per workload, the kernels that took most of one step (tf.profile). Each line gives
 * wall-clock and CPU time (all threads of each process) per step; on a machine others are loading, the
 * CPU-time ratio at --threads 1 is the steadier comparison of the work each framework does.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type * as tfjs from '@tensorflow/tfjs'
import { CONV_KERNEL_MODES, resolveTfBackend, useConvKernels, type ConvKernelMode, type TfBackendName } from '@genimage/training/tf'

type Tf = typeof tfjs
type SymbolicTensor = tfjs.SymbolicTensor

interface Workload {
  name: 'small-cnn' | 'resnet18'
  size: number
  batch: number
  build: (tf: Tf) => tfjs.LayersModel
}

function smallCnn(tf: Tf): tfjs.LayersModel {
  const input = tf.input({ shape: [64, 64, 3] })
  let x = input
  for (const [i, filters] of [32, 64, 128, 128].entries()) {
    x = tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x) as SymbolicTensor
    if (i < 3) x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(x) as SymbolicTensor
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x) as SymbolicTensor
  return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(x) as SymbolicTensor })
}

function resnet18(tf: Tf): tfjs.LayersModel {
  const conv = (x: SymbolicTensor, filters: number, kernelSize: number, strides: number) =>
    tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false }).apply(x) as SymbolicTensor
  const bn = (x: SymbolicTensor) => tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }).apply(x) as SymbolicTensor
  const relu = (x: SymbolicTensor) => tf.layers.activation({ activation: 'relu' }).apply(x) as SymbolicTensor
  const block = (x: SymbolicTensor, filters: number, strides: number) => {
    const main = bn(conv(relu(bn(conv(x, filters, 3, strides))), filters, 3, 1))
    const shortcut = strides === 1 && x.shape[3] === filters ? x : bn(conv(x, filters, 1, strides))
    return relu(tf.layers.add().apply([main, shortcut]) as SymbolicTensor)
  }
  const input = tf.input({ shape: [128, 128, 3] })
  let x = relu(bn(conv(input, 64, 7, 2)))
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as SymbolicTensor
  for (const [stage, filters] of [64, 128, 256, 512].entries()) {
    x = block(x, filters, stage === 0 ? 1 : 2)
    x = block(x, filters, 1)
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x) as SymbolicTensor
  return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(x) as SymbolicTensor })
}

const workloads: Workload[] = [
  { name: 'small-cnn', size: 64, batch: 32, build: smallCnn },
  { name: 'resnet18', size: 128, batch: 16, build: resnet18 },
]

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Prints the kernels that took most of one profiled step, summed by kernel name. */
async function printKernelProfile(tf: Tf, label: string, step: () => Promise<void>): Promise<void> {
  const profile = await tf.profile(step)
  const totals = new Map<string, { ms: number; calls: number }>()
  for (const kernel of profile.kernels) {
    const entry = totals.get(kernel.name) ?? { ms: 0, calls: 0 }
    entry.ms += kernel.kernelTimeMs as number
    entry.calls += 1
    totals.set(kernel.name, entry)
  }
  const all = [...totals.values()].reduce((sum, t) => sum + t.ms, 0)
  console.log(`  ${label} kernel profile (one step, ${all.toFixed(0)} ms in kernels):`)
  for (const [name, { ms, calls }] of [...totals.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) {
    console.log(`    ${name.padEnd(28)} ${ms.toFixed(1).padStart(8)} ms  ${calls} call(s)`)
  }
}

/** Median wall-clock and CPU seconds (all threads of the process) of one training step. */
interface StepTimes {
  wall: number
  cpu: number
}

/** Median seconds per training step of `workload` on the active tfjs backend. */
async function timeTfjs(tf: Tf, workload: Workload, steps: number, warmup: number, profile: boolean): Promise<StepTimes> {
  const model = workload.build(tf)
  const optimizer = tf.train.sgd(0.01)
  const images = tf.randomNormal([workload.batch, workload.size, workload.size, 3], 0, 1, 'float32', 1)
  const labels = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: workload.batch }, (_, i) => i % 2),
      'int32',
    ),
    2,
  )
  const variables = model.trainableWeights.map((w) => w.read() as tfjs.Variable)
  const step = async () => {
    const loss = optimizer.minimize(
      () => {
        const logits = model.apply(images, { training: true }) as tfjs.Tensor
        return tf.losses.softmaxCrossEntropy(labels, logits) as tfjs.Scalar
      },
      true,
      variables,
    )
    await loss?.data()
    loss?.dispose()
  }
  const wall: number[] = []
  const cpu: number[] = []
  for (let i = 0; i < warmup + steps; i++) {
    const start = performance.now()
    const cpuStart = process.cpuUsage()
    await step()
    const cpuUsed = process.cpuUsage(cpuStart)
    if (i >= warmup) {
      wall.push((performance.now() - start) / 1000)
      cpu.push((cpuUsed.user + cpuUsed.system) / 1e6)
    }
    process.stderr.write(`  ${workload.name} tfjs step ${i + 1}/${warmup + steps}\r`)
  }
  process.stderr.write('\n')
  if (profile) await printKernelProfile(tf, workload.name, step)
  tf.dispose([images, labels])
  model.dispose()
  optimizer.dispose()
  return { wall: median(wall), cpu: median(cpu) }
}

/** Debian's python3-torch lives in /usr/bin/python3's dist-packages, which a pyenv `python3` does not see. */
const python = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')

function timeTorch(workload: Workload, steps: number, warmup: number, threads: number): StepTimes | string {
  const script = fileURLToPath(new URL('./train-step.py', import.meta.url))
  const run = spawnSync(python, [script, '--model', workload.name, '--steps', String(steps), '--warmup', String(warmup), '--threads', String(threads)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  if (run.status !== 0) return `pytorch run failed (exit ${run.status ?? run.signal}): is python3-torch installed?`
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { median_s?: number; median_cpu_s?: number }
  if (result.median_s == null || result.median_cpu_s == null) return 'pytorch printed no result'
  return { wall: result.median_s, cpu: result.median_cpu_s }
}

const { values: args } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    backend: { type: 'string', multiple: true },
    only: { type: 'string' },
    'no-torch': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    conv: { type: 'string', multiple: true },
    'wasm-threads': { type: 'string' },
  },
})
const threads = Number(args.threads)
const steps = Number(args.steps)
const warmup = Number(args.warmup)
const priority = (args.backend ?? ['tensorflow', 'wasm', 'cpu']) as TfBackendName[]
const convModes = (args.conv ?? [...CONV_KERNEL_MODES]) as ConvKernelMode[]
const wasmThreads = args['wasm-threads'] == null ? threads : Number(args['wasm-threads'])
const resolved = await resolveTfBackend({ priority, threads: wasmThreads, conv: convModes[0] })
const modes = resolved.name === 'wasm' ? convModes : [undefined]
console.log(`tfjs backend ${resolved.name}, ${resolved.threads} thread(s); pytorch ${threads} thread(s); median of ${steps} after ${warmup} warm-up`)
for (const workload of workloads.filter((w) => args.only == null || w.name === args.only)) {
  const torch = args['no-torch'] ? 'skipped' : timeTorch(workload, steps, warmup, threads)
  for (const mode of modes) {
    const conv = mode == null ? undefined : useConvKernels(resolved.tf, { mode, threads })
    const tfjs = await timeTfjs(resolved.tf, workload, steps, warmup, args.profile ?? false)
    const label = `${workload.name.padEnd(10)} ${workload.size}×${workload.size} batch ${workload.batch}${conv == null ? '' : ` conv ${conv.mode}`}`
    if (typeof torch === 'string') {
      console.log(`${label}: tfjs ${tfjs.wall.toFixed(3)} s wall, ${tfjs.cpu.toFixed(3)} s cpu; pytorch ${torch}`)
      continue
    }
    console.log(
      `${label}: wall tfjs ${tfjs.wall.toFixed(3)} s / pytorch ${torch.wall.toFixed(3)} s = ${(tfjs.wall / torch.wall).toFixed(2)}×; ` +
        `cpu tfjs ${tfjs.cpu.toFixed(3)} s / pytorch ${torch.cpu.toFixed(3)} s = ${(tfjs.cpu / torch.cpu).toFixed(2)}×`,
    )
  }
}
