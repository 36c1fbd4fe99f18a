import * as tf from '@tensorflow/tfjs'
import * as wasm from '@tensorflow/tfjs-backend-wasm'
import { wasmBinaryFolder, WASM_TRAINING_KERNELS } from '../packages/gpu-runner/src/tf/index.ts'
wasm.setWasmPaths(wasmBinaryFolder())
wasm.setThreadsCount(Number(process.argv[2] ?? 2))
await tf.setBackend('wasm')
const stock = tf.getKernel('Conv2DBackpropInput', 'wasm')!
const ours = WASM_TRAINING_KERNELS.find((k) => k.kernelName === 'Conv2DBackpropInput')!
const filterOurs = WASM_TRAINING_KERNELS.find((k) => k.kernelName === 'Conv2DBackpropFilter')!
tf.registerKernel(filterOurs)
const cases = [
  { x: [16, 32, 32, 64], f: [3, 3, 64, 64], s: 1 },
  { x: [16, 64, 64, 64], f: [3, 3, 64, 128], s: 2 },
  { x: [16, 128, 128, 3], f: [7, 7, 3, 64], s: 2 },
  { x: [16, 8, 8, 256], f: [3, 3, 256, 256], s: 1 },
]
function time(f: () => void) { const t = performance.now(); f(); return performance.now() - t }
for (const c of cases) {
  const x = tf.randomNormal(c.x) as tf.Tensor4D, w = tf.randomNormal(c.f) as tf.Tensor4D
  const y = tf.conv2d(x, w, c.s, 'same')
  const dy = tf.randomNormal(y.shape)
  const run = () => { const r = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: c.s, pad: 'same', dataFormat: 'NHWC', inputShape: c.x }) as tf.Tensor; r.dataSync(); r.dispose() }
  const runF = () => { const r = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: c.s, pad: 'same', dataFormat: 'NHWC', filterShape: c.f }) as tf.Tensor; r.dataSync(); r.dispose() }
  const res: Record<string, number[]> = { stock: [], ours: [], fwd: [], filter: [] }
  for (let i = 0; i < 4; i++) {
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm'); tf.registerKernel(stock); res.stock!.push(time(run))
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm'); tf.registerKernel(ours); res.ours!.push(time(run))
    res.fwd!.push(time(() => { const r = tf.conv2d(x, w, c.s, 'same'); r.dataSync(); r.dispose() }))
    res.filter!.push(time(runF))
  }
  const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!.toFixed(0)
  console.log(JSON.stringify(c), 'forward', med(res.fwd!), 'input-grad stock', med(res.stock!), 'ours', med(res.ours!), 'filter-grad ours', med(res.filter!), 'ms')
}
