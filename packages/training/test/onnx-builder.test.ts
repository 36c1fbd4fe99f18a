import { attr, OnnxGraphBuilder } from '@genimage/shared/onnx'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import {
  batchNorm,
  broadcast,
  concat,
  conv2d,
  erf,
  layerNorm,
  map,
  matmul,
  maxAbsDiff,
  pool2d,
  product,
  reduceMean,
  ref,
  resizeNearest,
  seededRandom,
  slice,
  softmax,
  transpose,
  type ConvOptions,
  type Ref,
} from './onnx-reference.ts'

const TOLERANCE = 1e-4
const random = seededRandom(20_240_601)

interface Feed {
  data: Float32Array
  dims: number[]
}

async function runGraph(b: OnnxGraphBuilder, feeds: Record<string, Feed>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(b.toBytes())
  try {
    return await runSession(session, feeds)
  } finally {
    await session.release()
  }
}

async function runSession(session: ort.InferenceSession, feeds: Record<string, Feed>): Promise<Record<string, ort.Tensor>> {
  const tensors = Object.fromEntries(Object.entries(feeds).map(([name, f]) => [name, new ort.Tensor('float32', f.data, f.dims)]))
  return (await session.run(tensors)) as Record<string, ort.Tensor>
}

function feed(dims: number[], lo = -1, hi = 1): Feed {
  return { data: random(product(dims), lo, hi), dims }
}

function asRef(f: Feed): Ref {
  return ref(f.data, f.dims)
}

function expectClose(actual: ort.Tensor | undefined, expected: Ref): void {
  expect(actual, 'output missing').toBeDefined()
  expect(maxAbsDiff({ data: actual!.data as Float32Array, dims: actual!.dims }, expected)).toBeLessThan(TOLERANCE)
}

/** Adds a float32 initializer filled from a feed and returns its name. */
function weights(b: OnnxGraphBuilder, f: Feed): string {
  return b.constant(f.data, f.dims, 'w')
}

describe('OnnxGraphBuilder graphs run in onnxruntime-node and match reference computations', () => {
  it('Conv with groups, strides, pads, dilations, rectangular kernels and optional bias', async () => {
    const configs: Array<{ c: number; m: number; k: [number, number]; bias: boolean } & ConvOptions> = [
      { c: 3, m: 4, k: [3, 3], bias: true, pads: [1, 1, 1, 1] },
      { c: 4, m: 6, k: [3, 3], bias: true, group: 2, strides: [2, 2], pads: [0, 1, 1, 0] },
      { c: 4, m: 4, k: [3, 3], bias: false, group: 4, dilations: [2, 2], pads: [2, 2, 2, 2] },
      { c: 3, m: 5, k: [1, 1], bias: false, strides: [2, 2] },
      { c: 2, m: 3, k: [2, 3], bias: true, strides: [1, 2], pads: [1, 0, 0, 1] },
    ]
    for (const config of configs) {
      const b = new OnnxGraphBuilder()
      const x = feed([2, config.c, 7, 9])
      const w = feed([config.m, config.c / (config.group ?? 1), ...config.k])
      const bias = config.bias ? feed([config.m]) : undefined
      const inputs = [b.input('x', 'float32', ['N', config.c, 7, 9]), weights(b, w), ...(bias ? [weights(b, bias)] : [])]
      const { c: _c, m: _m, k, bias: _b, ...options } = config
      b.output(b.node('Conv', inputs, { kernel_shape: k, ...options }, { output: 'y' }), 'float32')
      const out = await runGraph(b, { x })
      expectClose(out.y, conv2d(asRef(x), asRef(w), bias && asRef(bias), options))
    }
  })

  it('BatchNormalization, Relu and Identity', async () => {
    const b = new OnnxGraphBuilder()
    const x = feed([3, 4, 5, 5])
    const [scale, bias, mean] = [feed([4]), feed([4]), feed([4])]
    const variance = feed([4], 0.2, 2)
    const normalized = b.node('BatchNormalization', [b.input('x', 'float32', ['N', 4, 5, 5]), ...[scale, bias, mean, variance].map((f) => weights(b, f))], {
      epsilon: 1e-3,
    })
    b.output(b.node('Identity', [b.node('Relu', [normalized])], {}, { output: 'y' }), 'float32', ['N', 4, 5, 5])
    const expected = map(batchNorm(asRef(x), asRef(scale), asRef(bias), asRef(mean), asRef(variance), 1e-3), (v) => Math.max(0, v))
    expectClose((await runGraph(b, { x })).y, expected)
  })

  it('MaxPool, AveragePool (with and without padding counted) and GlobalAveragePool, on all-negative data too', async () => {
    for (const x of [feed([2, 3, 9, 8]), feed([2, 3, 9, 8], -3, -1)]) {
      const b = new OnnxGraphBuilder()
      const input = b.input('x', 'float32', ['N', 3, 9, 8])
      b.output(b.node('MaxPool', [input], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, { output: 'max' }), 'float32')
      b.output(b.node('AveragePool', [input], { kernel_shape: [2, 2], strides: [2, 2] }, { output: 'avg' }), 'float32')
      const padded = { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }
      b.output(b.node('AveragePool', [input], { ...padded, count_include_pad: 0 }, { output: 'avgExcl' }), 'float32')
      b.output(b.node('AveragePool', [input], { ...padded, count_include_pad: 1 }, { output: 'avgIncl' }), 'float32')
      b.output(b.node('GlobalAveragePool', [input], {}, { output: 'global' }), 'float32')
      const out = await runGraph(b, { x })
      const xr = asRef(x)
      const pads: [number, number, number, number] = [1, 1, 1, 1]
      expectClose(out.max, pool2d(xr, 'max', { kernel: [3, 3], strides: [2, 2], pads }))
      expectClose(out.avg, pool2d(xr, 'average', { kernel: [2, 2], strides: [2, 2] }))
      expectClose(out.avgExcl, pool2d(xr, 'average', { kernel: [3, 3], pads }))
      expectClose(out.avgIncl, pool2d(xr, 'average', { kernel: [3, 3], pads, countIncludePad: true }))
      expectClose(out.global, reduceMean(xr, [2, 3], true))
    }
  })

  it('Gemm (transposes, whole-number alpha and beta written as floats) and MatMul (2-D and batched)', async () => {
    const b = new OnnxGraphBuilder()
    const a = feed([4, 6])
    const wT = feed([5, 6])
    const c = feed([5])
    const at = feed([6, 3])
    const input = b.input('a', 'float32', ['N', 6])
    b.output(b.node('Gemm', [input, weights(b, wT), weights(b, c)], { transB: 1, alpha: 1, beta: 1 }, { output: 'gemm' }), 'float32')
    b.output(
      b.node('Gemm', [b.input('at', 'float32', [6, 'M']), weights(b, wT), weights(b, c)], { transA: 1, transB: 1, alpha: 0.5, beta: 2 }, { output: 'gemm2' }),
      'float32',
    )
    const batched = feed([2, 3, 4, 6])
    const right2d = feed([6, 5])
    const right3d = feed([3, 6, 2])
    const bx = b.input('batched', 'float32', ['N', 3, 4, 6])
    b.output(b.node('MatMul', [input, weights(b, right2d)], {}, { output: 'mm' }), 'float32')
    b.output(b.node('MatMul', [bx, weights(b, right2d)], {}, { output: 'mmBatched' }), 'float32')
    b.output(b.node('MatMul', [bx, weights(b, right3d)], {}, { output: 'mmBroadcast' }), 'float32')
    const out = await runGraph(b, { a, at, batched })
    const plusC = (t: Ref, alpha: number, beta: number) =>
      broadcast(
        map(t, (v) => alpha * v),
        map(asRef(c), (v) => beta * v),
        (p, q) => p + q,
      )
    expectClose(out.gemm, plusC(matmul(asRef(a), transpose(asRef(wT), [1, 0])), 1, 1))
    expectClose(out.gemm2, plusC(matmul(transpose(asRef(at), [1, 0]), transpose(asRef(wT), [1, 0])), 0.5, 2))
    expectClose(out.mm, matmul(asRef(a), asRef(right2d)))
    expectClose(out.mmBatched, matmul(asRef(batched), asRef(right2d)))
    expectClose(out.mmBroadcast, matmul(asRef(batched), asRef(right3d)))
  })

  it('element-wise Add, Sub, Mul, Div with broadcasting, and Abs, Sqrt, Pow, Erf, Sigmoid', async () => {
    const b = new OnnxGraphBuilder()
    const x = feed([2, 3, 4, 4])
    const perChannel = feed([3, 1, 1])
    const perColumn = feed([4])
    const divisor = feed([1, 3, 4, 1], 0.5, 2)
    const input = b.input('x', 'float32', ['N', 3, 4, 4])
    const positive = b.node('Add', [b.node('Abs', [input]), b.constFloat(0.1)])
    const outputs: Record<string, string> = {
      add: b.node('Add', [input, weights(b, perChannel)]),
      sub: b.node('Sub', [b.constFloat(0.25), input]),
      mul: b.node('Mul', [input, weights(b, perColumn)]),
      div: b.node('Div', [input, weights(b, divisor)]),
      abs: b.node('Abs', [input]),
      sqrt: b.node('Sqrt', [positive]),
      square: b.node('Pow', [input, b.constFloat(2)]),
      root: b.node('Pow', [positive, b.constFloat(0.5)]),
      erf: b.node('Erf', [input]),
      sigmoid: b.node('Sigmoid', [input]),
    }
    for (const [name, value] of Object.entries(outputs)) b.output(value, 'float32', undefined, { as: name })
    const out = await runGraph(b, { x })
    const xr = asRef(x)
    const pos = map(xr, (v) => Math.abs(v) + 0.1)
    expectClose(
      out.add,
      broadcast(xr, asRef(perChannel), (p, q) => p + q),
    )
    expectClose(
      out.sub,
      map(xr, (v) => 0.25 - v),
    )
    expectClose(
      out.mul,
      broadcast(xr, asRef(perColumn), (p, q) => p * q),
    )
    expectClose(
      out.div,
      broadcast(xr, asRef(divisor), (p, q) => p / q),
    )
    expectClose(out.abs, map(xr, Math.abs))
    expectClose(out.sqrt, map(pos, Math.sqrt))
    expectClose(
      out.square,
      map(xr, (v) => v * v),
    )
    expectClose(out.root, map(pos, Math.sqrt))
    expectClose(out.erf, map(xr, erf))
    expectClose(
      out.sigmoid,
      map(xr, (v) => 1 / (1 + Math.exp(-v))),
    )
  })

  it('Transpose, Reshape, Flatten, Concat and Slice', async () => {
    const b = new OnnxGraphBuilder()
    const x = feed([2, 3, 4, 5])
    const other = feed([2, 2, 4, 5])
    const input = b.input('x', 'float32', ['N', 3, 4, 5])
    const second = b.input('other', 'float32', ['N', 2, 4, 5])
    b.output(b.node('Transpose', [input], { perm: [0, 2, 3, 1] }, { output: 'nhwc' }), 'float32')
    b.output(b.node('Reshape', [input, b.constInt64([0, -1, 5])], {}, { output: 'reshaped' }), 'float32')
    b.output(b.node('Flatten', [input], { axis: 1 }, { output: 'flat1' }), 'float32')
    b.output(b.node('Flatten', [input], { axis: 2 }, { output: 'flat2' }), 'float32')
    b.output(b.node('Concat', [input, second, input], { axis: 1 }, { output: 'joined' }), 'float32')
    const bounds = [b.constInt64([1, -4, 0]), b.constInt64([3, 100, -1]), b.constInt64([1, 2, 3]), b.constInt64([1, 2, 2])]
    b.output(b.node('Slice', [input, ...bounds], {}, { output: 'sliced' }), 'float32')
    const out = await runGraph(b, { x, other })
    const xr = asRef(x)
    expectClose(out.nhwc, transpose(xr, [0, 2, 3, 1]))
    expectClose(out.reshaped, { data: xr.data, dims: [2, 12, 5] })
    expectClose(out.flat1, { data: xr.data, dims: [2, 60] })
    expectClose(out.flat2, { data: xr.data, dims: [6, 20] })
    expectClose(out.joined, concat([xr, asRef(other), xr], 1))
    expectClose(out.sliced, slice(xr, [1, -4, 0], [3, 100, -1], [1, 2, 3], [1, 2, 2]))
  })

  it('Constant with a tensor attribute, and int32 and int64 initializers as Gather indices', async () => {
    const b = new OnnxGraphBuilder()
    const x = feed([2, 5, 3])
    const offsets = random(3)
    const input = b.input('x', 'float32', ['N', 5, 3])
    const constant = b.node('Constant', [], { value: attr.tensor(offsets, [1, 1, 3]) })
    b.output(b.node('Add', [input, constant], {}, { output: 'shifted' }), 'float32')
    const picks32 = b.constant(Int32Array.from([4, 0, 4, 2]), [4], 'idx32')
    const picks64 = b.constant(BigInt64Array.from([-1n, 1n]), [2], 'idx64')
    b.output(b.node('Gather', [input, picks32], { axis: 1 }, { output: 'gathered32' }), 'float32')
    b.output(b.node('Gather', [input, picks64], { axis: 2 }, { output: 'gathered64' }), 'float32')
    const out = await runGraph(b, { x })
    const xr = asRef(x)
    const pick = (axis: number, indices: number[]) =>
      concat(
        indices.map((i) => slice(xr, [i], [i + 1], [axis], [1])),
        axis,
      )
    expectClose(
      out.shifted,
      broadcast(xr, ref(offsets, [1, 1, 3]), (p, q) => p + q),
    )
    expectClose(out.gathered32, pick(1, [4, 0, 4, 2]))
    expectClose(out.gathered64, pick(2, [2, 1]))
  })

  it('Softmax, LayerNormalization and nearest Resize', async () => {
    const b = new OnnxGraphBuilder()
    const x = feed([2, 3, 4, 5], -3, 3)
    const [scaleLast, biasLast] = [feed([5]), feed([5])]
    const [scaleTwo, biasTwo] = [feed([4, 5]), feed([4, 5])]
    const input = b.input('x', 'float32', ['N', 3, 4, 5])
    b.output(b.node('Softmax', [input], { axis: -1 }, { output: 'softLast' }), 'float32')
    b.output(b.node('Softmax', [input], { axis: 1 }, { output: 'softChannels' }), 'float32')
    const lnLast = [input, weights(b, scaleLast), weights(b, biasLast)]
    b.output(b.node('LayerNormalization', lnLast, { axis: -1, epsilon: 1e-5 }, { output: 'lnLast' }), 'float32')
    const lnTwo = [input, weights(b, scaleTwo), weights(b, biasTwo)]
    b.output(b.node('LayerNormalization', lnTwo, { axis: -2, epsilon: 1e-5 }, { output: 'lnTwo' }), 'float32')
    b.output(b.node('Resize', [input, '', b.constFloat([1, 1, 2, 2])], { mode: 'nearest' }, { output: 'up2' }), 'float32')
    const asymmetric = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
    b.output(b.node('Resize', [input, '', b.constFloat([1, 1, 3, 2])], asymmetric, { output: 'up32' }), 'float32')
    const out = await runGraph(b, { x })
    const xr = asRef(x)
    expectClose(out.softLast, softmax(xr, -1))
    expectClose(out.softChannels, softmax(xr, 1))
    expectClose(out.lnLast, layerNorm(xr, -1, asRef(scaleLast), asRef(biasLast), 1e-5))
    expectClose(out.lnTwo, layerNorm(xr, -2, asRef(scaleTwo), asRef(biasTwo), 1e-5))
    expectClose(out.up2, resizeNearest(xr, 2, 2))
    expectClose(out.up32, resizeNearest(xr, 3, 2))
  })

  it('ReduceMean through reduce() at opsets 13, 17 and 18 (axes attribute vs input)', async () => {
    const x = feed([2, 3, 4, 5])
    for (const opset of [13, 17, 18]) {
      const b = new OnnxGraphBuilder({ opset })
      const input = b.input('x', 'float32', ['N', 3, 4, 5])
      b.output(b.reduce('ReduceMean', input, [1, 2, 3], { keepdims: false }), 'float32', ['N'], { as: 'flat' })
      b.output(b.reduce('ReduceMean', input, [-1]), 'float32', undefined, { as: 'kept' })
      const out = await runGraph(b, { x })
      expectClose(out.flat, reduceMean(asRef(x), [1, 2, 3], false))
      expectClose(out.kept, reduceMean(asRef(x), [-1], true))
    }
  })

  it('serves batch 1 and batch 5 from one session through a symbolic batch dimension', async () => {
    const b = new OnnxGraphBuilder()
    const [w, cb] = [feed([6, 3, 3, 3]), feed([6])]
    const [scale, shift, mean] = [feed([6]), feed([6]), feed([6])]
    const variance = feed([6], 0.5, 1.5)
    const [fc, fcBias] = [feed([2, 6]), feed([2])]
    const x = b.input('image', 'float32', ['N', 3, 8, 8])
    let h = b.node('Conv', [x, weights(b, w), weights(b, cb)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })
    h = b.node('BatchNormalization', [h, ...[scale, shift, mean, variance].map((f) => weights(b, f))], { epsilon: attr.float(1e-5) })
    h = b.node('MaxPool', [b.node('Relu', [h])], { kernel_shape: [2, 2], strides: [2, 2] })
    h = b.node('Flatten', [b.node('GlobalAveragePool', [h])], { axis: 1 })
    const logits = b.node('Gemm', [h, weights(b, fc), weights(b, fcBias)], { transB: 1 }, { output: 'logits' })
    b.output(logits, 'float32', ['N', 2])
    b.output(b.node('Softmax', [logits], { axis: 1 }), 'float32', ['N', 2], { as: 'probabilities' })

    const reference = (input: Feed) => {
      let r = conv2d(asRef(input), asRef(w), asRef(cb), { pads: [1, 1, 1, 1] })
      r = batchNorm(r, asRef(scale), asRef(shift), asRef(mean), asRef(variance), 1e-5)
      r = pool2d(
        map(r, (v) => Math.max(0, v)),
        'max',
        { kernel: [2, 2], strides: [2, 2] },
      )
      r = reduceMean(r, [2, 3], false)
      return broadcast(matmul(r, transpose(asRef(fc), [1, 0])), asRef(fcBias), (p, q) => p + q)
    }
    const session = await ort.InferenceSession.create(b.toBytes())
    try {
      const single = feed([1, 3, 8, 8])
      const five = feed([5, 3, 8, 8])
      five.data.set(single.data)
      const outSingle = await runSession(session, { image: single })
      const outFive = await runSession(session, { image: five })
      expectClose(outSingle.logits, reference(single))
      expectClose(outFive.logits, reference(five))
      expectClose(outFive.probabilities, softmax(reference(five), 1))
      const firstRow = Array.from((outFive.logits!.data as Float32Array).subarray(0, 2))
      expect(firstRow).toEqual(Array.from(outSingle.logits!.data as Float32Array))
    } finally {
      await session.release()
    }
  })
})
