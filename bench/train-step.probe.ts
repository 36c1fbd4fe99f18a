import { resolveTfBackend } from '../packages/gpu-runner/src/tf/index.ts'
const { tf } = await resolveTfBackend({ priority: ['wasm'] })
const missing = new Set<string>()
async function attempt(label: string, f: () => tf.Scalar, vars: tf.Variable[]) {
  for (let i = 0; i < 6; i++) {
    try { const { value, grads } = tf.variableGrads(f, vars); tf.dispose([value, ...Object.values(grads)]); console.log(label, 'ok'); return }
    catch (e) { const m = String((e as Error).message); const k = /Kernel '(\w+)' not registered/.exec(m); if (!k) { console.log(label, 'ERR', m.slice(0, 200)); return } missing.add(k[1]!); console.log(label, 'missing', k[1]); tf.unregisterKernel; return }
  }
}
const x = tf.randomNormal([2, 32, 32, 3])
const v = (s: number[]) => tf.variable(tf.randomNormal(s, 0, 0.1))
const w1 = v([3, 3, 3, 8]), dw = v([3, 3, 8, 1]), w2 = v([1, 1, 8, 8]), wq = v([8, 8]), gamma = v([8]), beta = v([8]), bias = v([8])
const labels = tf.oneHot(tf.tensor1d([0, 1], 'int32'), 8)
const ops: Record<string, () => tf.Tensor> = {
  conv: () => tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 2, 'same'),
  fused: () => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w1 as tf.Tensor4D, strides: 1, pad: 'same', bias, activation: 'relu' }),
  depthwise: () => tf.depthwiseConv2d(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'), dw as tf.Tensor4D, 2, 'same'),
  batchNorm: () => { const y = tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'); const m = tf.moments(y, [0, 1, 2]); return tf.batchNorm(y, m.mean, m.variance, beta, gamma, 1e-5) },
  pools: () => tf.avgPool(tf.maxPool(tf.relu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same')), 3, 2, 'same'), 2, 2, 'valid'),
  upsample: () => { const y = tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'); return tf.sub(y, tf.image.resizeNearestNeighbor(tf.avgPool(y as tf.Tensor4D, 2, 2, 'valid'), [32, 32])) },
  bilinear: () => tf.image.resizeBilinear(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'), [16, 16]),
  attention: () => { const t = tf.reshape(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 4, 'valid'), [2, 64, 8]); const q = tf.matMul(t, tf.tile(tf.expandDims(wq, 0), [2, 1, 1])); const a = tf.softmax(tf.matMul(q, t, false, true)); const ln = tf.moments(a, -1, true); return tf.matMul(tf.div(tf.sub(a, ln.mean), tf.sqrt(tf.add(ln.variance, 1e-5))), t) },
  gelu: () => { const y = tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'); return tf.mul(tf.mul(y, 0.5), tf.add(1, tf.erf(tf.div(y, Math.SQRT2)))) },
  concatSliceGather: () => { const y = tf.reshape(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 4, 'valid'), [2, 64, 8]); const c = tf.concat([tf.tile(tf.reshape(bias, [1, 1, 8]), [2, 1, 1]), y], 1); return tf.add(tf.gather(c, tf.tensor1d([0, 3], 'int32'), 1), tf.slice(c, [0, 1, 0], [2, 2, 8])) },
  padMirror: () => tf.mirrorPad(tf.pad(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'), [[0, 0], [1, 1], [1, 1], [0, 0]]), [[0, 0], [2, 2], [2, 2], [0, 0]], 'reflect'),
  lossAndGram: () => { const y = tf.reshape(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 4, 'valid'), [2, 64, 8]); const g = tf.matMul(y, y, true, false); return tf.losses.softmaxCrossEntropy(labels, tf.mean(g, 1)) },
  misc: () => { const y = tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'); return tf.add(tf.add(tf.leakyRelu(y, 0.2), tf.relu6(y)), tf.add(tf.sigmoid(y), tf.add(tf.elu(y), tf.clipByValue(tf.abs(y), 0, 1)))) },
  logsigmoidMax: () => { const y = tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'); return tf.add(tf.max(y, [1, 2]), tf.add(tf.logSumExp(y, 3), tf.losses.sigmoidCrossEntropy(tf.onesLike(y), y))) },
}
for (const [name, f] of Object.entries(ops)) await attempt(name, () => tf.sum(tf.square(f())) as tf.Scalar, [w1, dw, w2, wq, gamma, beta, bias])
console.log('missing:', [...missing])
