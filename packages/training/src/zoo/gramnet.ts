import * as tf from '@tensorflow/tfjs'
import { convBnAct, GlobalAvgPool, Linear, Sequential, type ForwardContext, type Layer } from './layers.ts'
import type { OnnxEmitter } from './onnx-emitter.ts'
import type { ParamStore } from './params.ts'
import { resnetTrunk, type ResNetTrunkSpec } from './resnet.ts'

/** Gram matrix of a feature map, FᵀF / (H·W): NHWC [N, H, W, C] → [N, C, C, 1] (NCHW [N, 1, C, C] in ONNX). */
class GramMatrix implements Layer {
  constructor(readonly channels: number) {}

  forward(x: tf.Tensor): tf.Tensor {
    const [n, h, w, c] = x.shape as [number, number, number, number]
    const flat = tf.reshape(x, [n, h * w, c]) as tf.Tensor3D
    return tf.reshape(tf.div(tf.matMul(flat, flat, true, false), h * w), [n, c, c, 1])
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    const flat = g.node('Reshape', [x, g.ints(g.unique('gram_flat'), [3], [0, 0, -1])])
    const gram = g.node('MatMul', [flat, g.node('Transpose', [flat], { perm: [0, 2, 1] })])
    const area = g.node(
      'Cast',
      [g.node('ReduceProd', [g.node('Slice', [g.node('Shape', [x]), g.ints(g.unique('s'), [1], [2]), g.ints(g.unique('e'), [1], [4])])], { keepdims: 0 })],
      { to: 1 },
    )
    return g.node('Reshape', [g.node('Div', [gram, area]), g.ints(g.unique('gram_img'), [4], [0, 1, this.channels, this.channels])])
  }
}

/**
 * A Gram block (GramNet, Liu et al. 2020): conv to `gramChannels`, Gram matrix, two stride-2 convs over the
 * matrix, global pool → a texture feature vector.
 */
function gramBlock(store: ParamStore, name: string, inChannels: number, gramChannels: number): Layer {
  return new Sequential([
    convBnAct(store, `${name}.reduce`, { inChannels, outChannels: gramChannels, kernel: 3 }),
    new GramMatrix(gramChannels),
    convBnAct(store, `${name}.conv1`, { inChannels: 1, outChannels: gramChannels / 2, kernel: 3, stride: 2 }),
    convBnAct(store, `${name}.conv2`, { inChannels: gramChannels / 2, outChannels: gramChannels, kernel: 3, stride: 2 }),
    new GlobalAvgPool(),
  ])
}

/** GramNet: a ResNet whose input and every stage output also feed a Gram block; all features meet in the head. */
class GramNetwork implements Layer {
  constructor(
    readonly stem: Layer,
    readonly stages: Layer[],
    readonly grams: Layer[],
    readonly pool: Layer,
    readonly head: Layer,
  ) {}

  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return this.wire(
      x,
      (layer, input) => layer.forward(input, ctx),
      (features) => tf.concat(features, 1),
    )
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    return this.wire(
      x,
      (layer, input) => layer.exportOnnx(g, input),
      (features) => g.node('Concat', features, { axis: 1 }),
    )
  }

  /** The graph once for both paths: Gram block i reads tap i (the input, then the stem and each stage in turn), beside the pooled trunk. */
  private wire<T>(x: T, apply: (layer: Layer, input: T) => T, concat: (features: T[]) => T): T {
    const taps = [x]
    let y = apply(this.stem, x)
    taps.push(y)
    for (const stage of this.stages) {
      y = apply(stage, y)
      taps.push(y)
    }
    const features = [apply(this.pool, y), ...this.grams.map((gram, i) => apply(gram, taps[i]!))]
    return apply(this.head, concat(features))
  }
}

/** GramNet on ResNet-18 (as in the paper); tiny: 1-1-1-1 basic blocks, widths 8…64, 8-channel Gram blocks. */
export function buildGramNet(store: ParamStore, variant: 'full' | 'tiny', classes: number): Layer {
  const full = variant === 'full'
  const widths = full ? [64, 128, 256, 512] : [8, 16, 32, 64]
  const spec: ResNetTrunkSpec = {
    inChannels: 3,
    stem: full ? { width: 64, kernel: 7, stride: 2, maxPool: true } : { width: 8, kernel: 3, stride: 1, maxPool: false },
    block: 'basic',
    stages: widths.map((width, i) => ({ blocks: full ? 2 : 1, width, stride: i === 0 ? 1 : 2 })),
  }
  const { stem, stages, features } = resnetTrunk(store, 'backbone', spec)
  const gramChannels = full ? 32 : 8
  const tapChannels = [3, spec.stem.width, ...widths]
  const grams = tapChannels.map((channels, i) => gramBlock(store, `gram${i}`, channels, gramChannels))
  return new GramNetwork(stem, stages, grams, new GlobalAvgPool(), new Linear(store, 'head', features + grams.length * gramChannels, classes))
}
