import { attr, OnnxGraphBuilder } from '@genimage/shared/onnx'
import {
  filterShape,
  HWIO_TO_OIHW,
  inputShape,
  NCHW_TO_NHWC,
  NHWC_TO_NCHW,
  outputShape,
  patchColumns,
  patchTaps,
  window,
  type ConvGeometry,
} from './conv-geometry.ts'

/** Activations of tfjs `FusedConv2D` that the graphs apply themselves (`prelu` stays with the stock kernel). */
export const GRAPH_ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const
export type GraphActivation = (typeof GRAPH_ACTIVATIONS)[number]

/** Extra work fused into the forward graph. */
export interface ConvEpilogue {
  bias: boolean
  activation: GraphActivation
  leakyreluAlpha: number
}

function applyActivation(b: OnnxGraphBuilder, y: string, epilogue: ConvEpilogue): string {
  switch (epilogue.activation) {
    case 'linear':
      return y
    case 'relu':
      return b.node('Relu', [y])
    case 'relu6':
      return b.node('Clip', [y, b.constFloat(0), b.constFloat(6)])
    case 'elu':
      return b.node('Elu', [y], { alpha: attr.float(1) })
    case 'sigmoid':
      return b.node('Sigmoid', [y])
    case 'leakyrelu':
      return b.node('LeakyRelu', [y], { alpha: attr.float(epilogue.leakyreluAlpha) })
  }
}

/**
 * How the forward convolution runs: `conv` (NCHW Conv between transposes; MLAS splits each image's output
 * positions among threads) or `gemm` (patches of all images times the filter in one GEMM, NHWC throughout),
 * faster (measured with bench/train-step.micro.ts) for 1×1 filters and for up to 8×8 output positions.
 */
export function forwardStrategy(g: ConvGeometry): 'conv' | 'gemm' {
  const pointwise = g.filterHeight === 1 && g.filterWidth === 1
  return pointwise || g.outHeight * g.outWidth <= 64 ? 'gemm' : 'conv'
}

/** Forward: `in0` x (NHWC), `in1` filter (HWIO), optional `in2` bias [outChannels] → `out` (NHWC). */
export function forwardGraph(g: ConvGeometry, epilogue: ConvEpilogue): Uint8Array {
  const b = new OnnxGraphBuilder()
  const x = b.input('in0', 'float32', inputShape(g))
  const filter = b.input('in1', 'float32', filterShape(g))
  const bias = epilogue.bias ? b.input('in2', 'float32', [g.outChannels]) : undefined
  let y: string
  if (forwardStrategy(g) === 'gemm') {
    const columns = patchColumns(b, window(b, x, g), g, g.filterHeight, g.filterWidth)
    const weights = b.node('Reshape', [filter, b.constInt64([-1, g.outChannels])])
    const product = b.node('Gemm', bias == null ? [columns, weights] : [columns, weights, bias])
    y = b.node('Reshape', [applyActivation(b, product, epilogue), b.constInt64(outputShape(g))], {}, { output: 'out' })
  } else {
    const xc = b.node('Transpose', [x], { perm: NHWC_TO_NCHW })
    const w = b.node('Transpose', [filter], { perm: HWIO_TO_OIHW })
    const conv = b.node('Conv', bias == null ? [xc, w] : [xc, w, bias], { strides: g.strides, dilations: g.dilations, pads: g.pads })
    y = b.node('Transpose', [applyActivation(b, conv, epilogue)], { perm: NCHW_TO_NHWC }, { output: 'out' })
  }
  b.output(y, 'float32', outputShape(g))
  return b.toBytes()
}

/**
 * How the filter gradient runs (choices measured with bench/train-step.micro.ts). Up to 9 taps: `per-tap`
 * (per tap, a strided slice of the padded input times dy in a GEMM, the [C, O] blocks stacked) or, for
 * fewer than 8 input channels (image stems), `per-image` (NCHW slices of all taps, one GEMM per image in a
 * batched MatMul, summed over images: one GEMM over all images would have a tiny output and a long reduction
 * that MLAS does not split among threads). Larger filters: `conv` (a convolution of the input with batch
 * and channels swapped, dy as the filter, dilation = the stride).
 */
export function filterGradientStrategy(g: ConvGeometry): 'per-image' | 'per-tap' | 'conv' {
  if (g.filterHeight * g.filterWidth > 9) return 'conv'
  return g.inChannels < 8 ? 'per-image' : 'per-tap'
}

/** Filter gradient: `in0` x (NHWC), `in1` dy (NHWC) → `out` dw (HWIO), by {@link filterGradientStrategy}. */
export function filterGradientGraph(g: ConvGeometry): Uint8Array {
  const b = new OnnxGraphBuilder()
  const x = window(b, b.input('in0', 'float32', inputShape(g)), g)
  const dy = b.input('in1', 'float32', outputShape(g))
  const strategy = filterGradientStrategy(g)
  const rows = g.filterHeight * g.filterWidth * g.inChannels
  let dwValue: string
  if (strategy === 'per-image') {
    const positions = g.outHeight * g.outWidth
    const planes = b.node('Transpose', [x], { perm: NHWC_TO_NCHW })
    const [sh, sw] = g.strides
    const taps: string[] = []
    for (let i = 0; i < g.filterHeight; i++) {
      for (let j = 0; j < g.filterWidth; j++) {
        const ends = [i + (g.outHeight - 1) * sh + 1, j + (g.outWidth - 1) * sw + 1]
        const tap = b.node('Slice', [planes, b.constInt64([i, j]), b.constInt64(ends), b.constInt64([2, 3]), b.constInt64([sh, sw])])
        taps.push(b.node('Reshape', [tap, b.constInt64([g.batch, g.inChannels, 1, positions])]))
      }
    }
    const columns = b.node('Reshape', [b.node('Concat', taps, { axis: 2 }), b.constInt64([g.batch, rows, positions])])
    const dyPerImage = b.node('Reshape', [dy, b.constInt64([g.batch, positions, g.outChannels])])
    const summed = b.reduce('ReduceSum', b.node('MatMul', [columns, dyPerImage]), [0], { keepdims: false })
    const channelMajor = b.node('Reshape', [summed, b.constInt64([g.inChannels, g.filterHeight, g.filterWidth, g.outChannels])])
    dwValue = b.node('Transpose', [channelMajor], { perm: [1, 2, 0, 3] }, { output: 'out' })
  } else if (strategy === 'per-tap') {
    const dyRows = b.node('Flatten', [dy], { axis: 3 })
    const perTap = patchTaps(b, x, g, g.filterHeight, g.filterWidth).map((tap) => b.node('Gemm', [tap, dyRows], { transA: 1 }))
    const stacked = perTap.length === 1 ? perTap[0]! : b.node('Concat', perTap, { axis: 0 })
    dwValue = b.node('Reshape', [stacked, b.constInt64(filterShape(g))], {}, { output: 'out' })
  } else {
    const channelsAsBatch = b.node('Transpose', [x], { perm: [3, 0, 1, 2] })
    const dyAsFilter = b.node('Transpose', [dy], { perm: [3, 0, 1, 2] })
    const perChannel = b.node('Conv', [channelsAsBatch, dyAsFilter], { strides: g.dilations, dilations: g.strides })
    dwValue = b.node('Transpose', [perChannel], { perm: [2, 3, 0, 1] }, { output: 'out' })
  }
  b.output(dwValue, 'float32', filterShape(g))
  return b.toBytes()
}
