/**
 * Convolution-gradient micro-benchmark on wasm: the project's stride-phase Conv2DBackpropInput against the
 * stock one, next to the forward convolution and the project's Conv2DBackpropFilter, on ResNet-18 shapes.
 * Stock and project kernels alternate in one process and CPU time is measured, so the ratios hold on a busy
 * machine (use 1 thread: with more, CPU time also counts the pool's waiting).
 *
 *   npx tsx bench/train-step.micro.ts [threads]
 */
import * as tf from '@tensorflow/tfjs'
import * as wasm from '@tensorflow/tfjs-backend-wasm'
import { wasmBinaryFolder, WASM_TRAINING_KERNELS } from '../packages/gpu-runner/src/tf/index.ts'

type Shape4 = [number, number, number, number]

wasm.setWasmPaths(wasmBinaryFolder())
wasm.setThreadsCount(Number(process.argv[2] ?? 1))
await tf.setBackend('wasm')
const stockInputGrad = tf.getKernel('Conv2DBackpropInput', 'wasm')
const projectKernel = (name: string) => {
  const config = WASM_TRAINING_KERNELS.find((k) => k.kernelName === name)
  if (config == null) throw new Error(`no project kernel ${name}`)
  return config
}
if (stockInputGrad == null) throw new Error('stock Conv2DBackpropInput missing')
const projectInputGrad = projectKernel('Conv2DBackpropInput')
tf.registerKernel(projectKernel('Conv2DBackpropFilter'))

function useInputGrad(config: tf.KernelConfig) {
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm')
  tf.registerKernel(config)
}

/** CPU milliseconds (all threads) of one run: steadier than wall time on a machine others are loading. */
function milliseconds(run: () => tf.Tensor): number {
  const start = process.cpuUsage()
  const out = run()
  out.dataSync()
  out.dispose()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] as number

const cases: Array<{ x: Shape4; filter: Shape4; stride: number }> = [
  { x: [16, 128, 128, 3], filter: [7, 7, 3, 64], stride: 2 },
  { x: [16, 32, 32, 64], filter: [3, 3, 64, 64], stride: 1 },
  { x: [16, 32, 32, 64], filter: [3, 3, 64, 128], stride: 2 },
  { x: [16, 8, 8, 256], filter: [3, 3, 256, 256], stride: 1 },
]
console.log(`wasm, ${wasm.getThreadsCount()} thread(s); median of 5, CPU ms`)
for (const { x: xShape, filter: filterShape, stride } of cases) {
  const x = tf.randomNormal(xShape) as tf.Tensor4D
  const filter = tf.randomNormal(filterShape) as tf.Tensor4D
  const dy = tf.randomNormal(tf.conv2d(x, filter, stride, 'same').shape)
  const attrs = { strides: stride, pad: 'same', dataFormat: 'NHWC' }
  const inputGrad = () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: xShape }) as tf.Tensor
  const times = { forward: [] as number[], stock: [] as number[], project: [] as number[], filterGrad: [] as number[] }
  for (let i = 0; i < 5; i++) {
    times.forward.push(milliseconds(() => tf.conv2d(x, filter, stride, 'same')))
    useInputGrad(stockInputGrad)
    times.stock.push(milliseconds(inputGrad))
    useInputGrad(projectInputGrad)
    times.project.push(milliseconds(inputGrad))
    times.filterGrad.push(milliseconds(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape }) as tf.Tensor))
  }
  const [forward, stock, project, filterGrad] = [times.forward, times.stock, times.project, times.filterGrad].map(median) as number[]
  console.log(`x ${xShape.join('×')} filter ${filterShape.join('×')} stride ${stride}: forward ${forward!.toFixed(0)}, ` +
    `input-grad stock ${stock!.toFixed(0)} / project ${project!.toFixed(0)} (${(stock! / project!).toFixed(1)}× faster), ` +
    `filter-grad ${filterGrad!.toFixed(0)} (${(filterGrad! / forward!).toFixed(1)}× forward)`)
  tf.dispose([x, filter, dy])
}
