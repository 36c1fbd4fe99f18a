import type {
  Conv2DAttrs,
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
  FusedConv2DAttrs,
  KernelBackend,
  KernelConfig,
  KernelFunc,
  TensorInfo,
} from '@tensorflow/tfjs'
import { backend_util } from '@tensorflow/tfjs'
import { asHeapBackend } from '../wasm-kernels/heap.ts'
import { convGeometry, geometryKey, type ConvGeometry } from './conv-geometry.ts'
import {
  filterGradientGraph,
  filterGradientStrategy,
  forwardGraph,
  forwardStrategy,
  GRAPH_ACTIVATIONS,
  type ConvEpilogue,
  type GraphActivation,
} from './conv-graphs.ts'
import { inputGradientGraph, inputGradientStrategy, transposeOutputPadding } from './input-gradient-graph.ts'
import type { OrtSessionCache } from './ort-session-cache.ts'

type Shape4 = [number, number, number, number]

/** The kernels this module can take over, each with the kernel that runs whatever it does not handle. */
export interface ConvFallbacks {
  Conv2D: KernelFunc
  FusedConv2D: KernelFunc
  Conv2DBackpropInput: KernelFunc
  Conv2DBackpropFilter: KernelFunc
}

/** Forward convolutions of so few input channels (image stems) run faster on XNNPACK than through MLAS. */
const MIN_ONNX_FORWARD_CHANNELS = 8

function handles(tensors: readonly (TensorInfo | undefined)[], dataFormat: string): boolean {
  return dataFormat === 'NHWC' && tensors.every((t) => t == null || (t.dtype === 'float32' && t.shape.every((d) => d > 0)))
}

function runGraph(
  cache: OrtSessionCache,
  backend: KernelBackend,
  key: string,
  build: () => Uint8Array,
  inputs: readonly TensorInfo[],
  outShape: number[],
): TensorInfo {
  const heap = asHeapBackend(backend)
  const out = heap.makeOutput(outShape, 'float32')
  try {
    const operands = inputs.map((t) => ({ data: heap.typedArrayFromHeap(t) as Float32Array, dims: t.shape }))
    cache.run(key, build, operands, { data: heap.typedArrayFromHeap(out) as Float32Array, dims: outShape })
    return out
  } catch (error) {
    backend.disposeData(out.dataId)
    throw error
  }
}

function outputShape(g: ConvGeometry): number[] {
  return [g.batch, g.outHeight, g.outWidth, g.outChannels]
}

function forward(cache: OrtSessionCache, backend: KernelBackend, g: ConvGeometry, epilogue: ConvEpilogue, inputs: TensorInfo[]): TensorInfo {
  const key = geometryKey('conv', g, `${forwardStrategy(g)}:${epilogue.bias ? 'bias' : ''}:${epilogue.activation}:${epilogue.leakyreluAlpha}`)
  return runGraph(cache, backend, key, () => forwardGraph(g, epilogue), inputs, outputShape(g))
}

/** `Conv2D` for wasm through onnxruntime; NCHW, non-float and empty tensors go to `fallback`. */
export function createConv2D(cache: OrtSessionCache, fallback: KernelFunc): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo }
    const { strides, pad, dataFormat, dilations, dimRoundingMode } = args.attrs as unknown as Conv2DAttrs
    if (!handles([x, filter], dataFormat) || (x.shape[3] ?? 0) < MIN_ONNX_FORWARD_CHANNELS) return fallback(args)
    const info = backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, strides, dilations, pad, dimRoundingMode)
    const plain: ConvEpilogue = { bias: false, activation: 'linear', leakyreluAlpha: 0 }
    return forward(cache, args.backend as KernelBackend, convGeometry(info), plain, [x, filter])
  }
  return { kernelName: 'Conv2D', backendName: 'wasm', kernelFunc }
}

/**
 * `FusedConv2D` (tfjs-layers' conv with bias and activation) for wasm through onnxruntime: a bias of one
 * value per output channel and the activations in {@link GRAPH_ACTIVATIONS}; the rest goes to `fallback`.
 */
export function createFusedConv2D(cache: OrtSessionCache, fallback: KernelFunc): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x, filter, bias } = args.inputs as { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo }
    const attrs = args.attrs as unknown as FusedConv2DAttrs
    const activation = (attrs.activation ?? 'linear') as GraphActivation
    const outChannels = filter.shape[3]
    const biasFits = bias == null || (bias.shape.length === 1 && bias.shape[0] === outChannels)
    const fewChannels = (x.shape[3] ?? 0) < MIN_ONNX_FORWARD_CHANNELS
    if (!handles([x, filter, bias], attrs.dataFormat) || fewChannels || !biasFits || !GRAPH_ACTIVATIONS.includes(activation)) {
      return fallback(args)
    }
    const info = backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode)
    const epilogue: ConvEpilogue = { bias: bias != null, activation, leakyreluAlpha: attrs.leakyreluAlpha ?? 0.2 }
    return forward(cache, args.backend as KernelBackend, convGeometry(info), epilogue, bias == null ? [x, filter] : [x, filter, bias])
  }
  return { kernelName: 'FusedConv2D', backendName: 'wasm', kernelFunc }
}

/** `Conv2DBackpropInput` for wasm through onnxruntime (one ConvTranspose). */
export function createConv2DBackpropInput(cache: OrtSessionCache, fallback: KernelFunc): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo }
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as Conv2DBackpropInputAttrs
    if (!handles([dy, filter], dataFormat) || inputShape.some((d) => d <= 0)) return fallback(args)
    const info = backend_util.computeConv2DInfo(inputShape, filter.shape as Shape4, strides, 1, pad, dimRoundingMode)
    const g = convGeometry(info)
    const outputPadding = transposeOutputPadding(g)
    if (outputPadding.some((p, axis) => p < 0 || p >= Math.max(g.strides[axis]!, g.dilations[axis]!))) return fallback(args)
    return runGraph(
      cache,
      args.backend as KernelBackend,
      geometryKey('dx', g, inputGradientStrategy(g)),
      () => inputGradientGraph(g),
      [dy, filter],
      [...inputShape],
    )
  }
  return { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc }
}

/** `Conv2DBackpropFilter` for wasm through onnxruntime (strided slices and one GEMM, or a convolution). */
export function createConv2DBackpropFilter(cache: OrtSessionCache, fallback: KernelFunc): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo }
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Conv2DBackpropFilterAttrs
    if (!handles([x, dy], dataFormat)) return fallback(args)
    const info = backend_util.computeConv2DInfo(x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode)
    const g = convGeometry(info)
    return runGraph(
      cache,
      args.backend as KernelBackend,
      geometryKey('dw', g, filterGradientStrategy(g)),
      () => filterGradientGraph(g),
      [x, dy],
      [...filterShape],
    )
  }
  return { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc }
}

/** The four kernel configs, each falling back to the matching entry of `fallbacks`. */
export function createOnnxConvKernels(cache: OrtSessionCache, fallbacks: ConvFallbacks): KernelConfig[] {
  return [
    createConv2D(cache, fallbacks.Conv2D),
    createFusedConv2D(cache, fallbacks.FusedConv2D),
    createConv2DBackpropInput(cache, fallbacks.Conv2DBackpropInput),
    createConv2DBackpropFilter(cache, fallbacks.Conv2DBackpropFilter),
  ]
}
