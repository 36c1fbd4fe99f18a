import type { backend_util } from '@tensorflow/tfjs'
import type { OnnxGraphBuilder } from '@genimage/shared/onnx'

/** A 2-D NHWC convolution in ONNX terms: tfjs's geometry with the padding ONNX needs for the same output size. */
export interface ConvGeometry {
  batch: number
  inHeight: number
  inWidth: number
  inChannels: number
  outHeight: number
  outWidth: number
  outChannels: number
  filterHeight: number
  filterWidth: number
  strides: [number, number]
  dilations: [number, number]
  /** ONNX order: top, left, bottom, right; bottom/right are what gives tfjs's output size (never negative). */
  pads: [number, number, number, number]
}

/** Transpose permutations between tfjs's layouts (NHWC values, HWIO filters) and ONNX's (NCHW, OIHW). */
export const NHWC_TO_NCHW = [0, 3, 1, 2]
export const NCHW_TO_NHWC = [0, 2, 3, 1]
export const HWIO_TO_OIHW = [3, 2, 0, 1]

/** Translates tfjs's conv info; the trailing pad is whatever ends the window at tfjs's last output row/column. */
export function convGeometry(info: backend_util.Conv2DInfo): ConvGeometry {
  const { padInfo, strideHeight, strideWidth, dilationHeight, dilationWidth } = info
  const bottom = Math.max(0, (info.outHeight - 1) * strideHeight + info.effectiveFilterHeight - info.inHeight - padInfo.top)
  const right = Math.max(0, (info.outWidth - 1) * strideWidth + info.effectiveFilterWidth - info.inWidth - padInfo.left)
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strides: [strideHeight, strideWidth],
    dilations: [dilationHeight, dilationWidth],
    pads: [padInfo.top, padInfo.left, bottom, right],
  }
}

/** A cache key that names every property a graph depends on. */
export function geometryKey(op: string, g: ConvGeometry, extra = ''): string {
  return [
    op,
    g.batch,
    g.inHeight,
    g.inWidth,
    g.inChannels,
    g.outHeight,
    g.outWidth,
    g.outChannels,
    g.filterHeight,
    g.filterWidth,
    ...g.strides,
    ...g.dilations,
    ...g.pads,
    extra,
  ].join(',')
}

/** NHWC shape of the forward input (x, dx). */
export function inputShape(g: ConvGeometry): number[] {
  return [g.batch, g.inHeight, g.inWidth, g.inChannels]
}

/** NHWC shape of the forward output (y, dy). */
export function outputShape(g: ConvGeometry): number[] {
  return [g.batch, g.outHeight, g.outWidth, g.outChannels]
}

/** HWIO shape of the filter (w, dw). */
export function filterShape(g: ConvGeometry): number[] {
  return [g.filterHeight, g.filterWidth, g.inChannels, g.outChannels]
}

/** Pads (positive) or crops (negative) rows and columns of an NHWC value to exactly the window that is read. */
export function window(b: OnnxGraphBuilder, x: string, g: ConvGeometry): string {
  const [top, left] = g.pads
  const rowsRead = (g.outHeight - 1) * g.strides[0] + (g.filterHeight - 1) * g.dilations[0] + 1
  const colsRead = (g.outWidth - 1) * g.strides[1] + (g.filterWidth - 1) * g.dilations[1] + 1
  const bottom = rowsRead - g.inHeight - top
  const right = colsRead - g.inWidth - left
  const grow = [top, left, bottom, right].map((p) => Math.max(p, 0))
  const padded = grow.some((p) => p > 0) ? b.node('Pad', [x, b.constInt64([0, grow[0]!, grow[1]!, 0, 0, grow[2]!, grow[3]!, 0])], { mode: 'constant' }) : x
  if (bottom >= 0 && right >= 0) return padded
  return b.node('Slice', [padded, b.constInt64([0, 0]), b.constInt64([rowsRead, colsRead]), b.constInt64([1, 2])])
}

/** One strided slice of a padded NHWC value per filter tap, each flattened to [N·outH·outW, C], in HWIO tap order. */
export function patchTaps(b: OnnxGraphBuilder, padded: string, g: ConvGeometry, filterHeight: number, filterWidth: number): string[] {
  const [sh, sw] = g.strides
  const [dh, dw] = g.dilations
  const taps: string[] = []
  for (let i = 0; i < filterHeight; i++) {
    for (let j = 0; j < filterWidth; j++) {
      const starts = [i * dh, j * dw]
      const ends = [starts[0]! + (g.outHeight - 1) * sh + 1, starts[1]! + (g.outWidth - 1) * sw + 1]
      const tap = b.node('Slice', [padded, b.constInt64(starts), b.constInt64(ends), b.constInt64([1, 2]), b.constInt64([sh, sw])])
      taps.push(b.node('Flatten', [tap], { axis: 3 }))
    }
  }
  return taps
}

/** The taps side by side, [N·outH·outW, taps·C]: a GEMM with the filter reshaped to [taps·C, O] is the convolution. */
export function patchColumns(b: OnnxGraphBuilder, padded: string, g: ConvGeometry, filterHeight: number, filterWidth: number): string {
  const taps = patchTaps(b, padded, g, filterHeight, filterWidth)
  return taps.length === 1 ? taps[0]! : b.node('Concat', taps, { axis: 1 })
}
