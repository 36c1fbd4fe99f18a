import { OnnxGraphBuilder } from '@genimage/shared/onnx'
import { filterShape, HWIO_TO_OIHW, inputShape, NCHW_TO_NHWC, NHWC_TO_NCHW, outputShape, patchColumns, window, type ConvGeometry } from './conv-geometry.ts'

/** Output padding ConvTranspose needs to give back the forward input's size (input rows no window read). */
export function transposeOutputPadding(g: ConvGeometry): [number, number] {
  const [top, left, bottom, right] = g.pads
  const [sh, sw] = g.strides
  const [dh, dw] = g.dilations
  const rows = sh * (g.outHeight - 1) + dh * (g.filterHeight - 1) + 1 - top - bottom
  const cols = sw * (g.outWidth - 1) + dw * (g.filterWidth - 1) + 1 - left - right
  return [g.inHeight - rows, g.inWidth - cols]
}

/**
 * The stride-1 input gradient as a forward convolution over dy (filter flipped, in/out channels swapped),
 * or undefined where that needs a negative padding (then ConvTranspose runs).
 */
function flippedGeometry(g: ConvGeometry): ConvGeometry | undefined {
  if (g.strides[0] !== 1 || g.strides[1] !== 1) return undefined
  const top = (g.filterHeight - 1) * g.dilations[0] - g.pads[0]
  const left = (g.filterWidth - 1) * g.dilations[1] - g.pads[1]
  const bottom = g.inHeight - 1 + (g.filterHeight - 1) * g.dilations[0] + 1 - g.outHeight - top
  const right = g.inWidth - 1 + (g.filterWidth - 1) * g.dilations[1] + 1 - g.outWidth - left
  if (Math.min(top, left, bottom, right) < 0) return undefined
  return {
    ...g,
    inHeight: g.outHeight,
    inWidth: g.outWidth,
    inChannels: g.outChannels,
    outHeight: g.inHeight,
    outWidth: g.inWidth,
    outChannels: g.inChannels,
    pads: [top, left, bottom, right],
  }
}

/**
 * How the input gradient runs. Stride 1: a convolution of dy with the flipped filter, as patches times the
 * filter in one GEMM (`gemm`, up to 8×8 input positions and 16+ input channels) or an NCHW Conv (`conv`).
 * Otherwise one ConvTranspose (`transpose`: MLAS's per-image GEMM and col2im), or, for at most 6×6 dy
 * positions per image, where per-image GEMMs are too narrow, one GEMM over all images and Col2Im (`col2im`).
 */
export function inputGradientStrategy(g: ConvGeometry): 'gemm' | 'conv' | 'transpose' | 'col2im' {
  if (flippedGeometry(g) == null) return g.outHeight * g.outWidth <= 36 ? 'col2im' : 'transpose'
  return g.inHeight * g.inWidth <= 64 && g.inChannels >= 16 ? 'gemm' : 'conv'
}

/** The filter flipped in both spatial axes with in/out channels swapped, HWIO → HW(O)(I) order. */
function flippedFilter(b: OnnxGraphBuilder, filter: string): string {
  const swapped = b.node('Transpose', [filter], { perm: [0, 1, 3, 2] })
  const end = b.constInt64([Number.MIN_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])
  return b.node('Slice', [swapped, b.constInt64([-1, -1]), end, b.constInt64([0, 1]), b.constInt64([-1, -1])])
}

/** dx as columns of all images in one GEMM, [N, C·kh·kw, outH·outW], folded back into the image by Col2Im (NCHW). */
function columnsToImage(b: OnnxGraphBuilder, dy: string, filter: string, g: ConvGeometry): string {
  const taps = g.filterHeight * g.filterWidth
  const positions = g.outHeight * g.outWidth
  const weights = b.node('Reshape', [b.node('Transpose', [filter], { perm: [2, 0, 1, 3] }), b.constInt64([g.inChannels * taps, g.outChannels])])
  const dyColumns = b.node('Transpose', [b.node('Reshape', [dy, b.constInt64([g.batch * positions, g.outChannels])])], { perm: [1, 0] })
  const product = b.node('Reshape', [b.node('MatMul', [weights, dyColumns]), b.constInt64([g.inChannels * taps, g.batch, positions])])
  const columns = b.node('Transpose', [product], { perm: [1, 0, 2] })
  return b.node('Col2Im', [columns, b.constInt64([g.inHeight, g.inWidth]), b.constInt64([g.filterHeight, g.filterWidth])], {
    strides: g.strides,
    dilations: g.dilations,
    pads: g.pads,
  })
}

/** Input gradient: `in0` dy (NHWC), `in1` filter (HWIO) → `out` dx (NHWC). */
export function inputGradientGraph(g: ConvGeometry): Uint8Array {
  const strategy = inputGradientStrategy(g)
  const b = new OnnxGraphBuilder({ opset: strategy === 'col2im' ? 18 : 17 })
  const dy = b.input('in0', 'float32', outputShape(g))
  const filter = b.input('in1', 'float32', filterShape(g))
  const flipped = flippedGeometry(g)
  let dx: string
  if (flipped != null && strategy === 'gemm') {
    const weights = b.node('Reshape', [flippedFilter(b, filter), b.constInt64([-1, g.inChannels])])
    const columns = patchColumns(b, window(b, dy, flipped), flipped, g.filterHeight, g.filterWidth)
    dx = b.node('Reshape', [b.node('Gemm', [columns, weights]), b.constInt64(inputShape(g))], {}, { output: 'out' })
  } else {
    let nchw: string
    if (strategy === 'col2im') {
      nchw = columnsToImage(b, dy, filter, g)
    } else {
      const dyc = b.node('Transpose', [dy], { perm: NHWC_TO_NCHW })
      nchw =
        flipped != null && strategy === 'conv'
          ? b.node('Conv', [dyc, b.node('Transpose', [flippedFilter(b, filter)], { perm: HWIO_TO_OIHW })], {
              strides: [1, 1],
              dilations: g.dilations,
              pads: flipped.pads,
            })
          : b.node('ConvTranspose', [dyc, b.node('Transpose', [filter], { perm: HWIO_TO_OIHW })], {
              strides: g.strides,
              dilations: g.dilations,
              pads: g.pads,
              output_padding: transposeOutputPadding(g),
            })
    }
    dx = b.node('Transpose', [nchw], { perm: NCHW_TO_NHWC }, { output: 'out' })
  }
  b.output(dx, 'float32', inputShape(g))
  return b.toBytes()
}
