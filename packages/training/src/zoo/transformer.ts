import * as tf from '@tensorflow/tfjs'
import { Activation, Conv2d, Linear, Sequential, type ForwardContext, type Layer } from './layers.ts'
import type { OnnxEmitter } from './onnx-emitter.ts'
import type { ParamStore } from './params.ts'

/** LayerNorm over the last axis (ONNX LayerNormalization, opset 17). */
export class LayerNorm implements Layer {
  readonly gamma: tf.Variable
  readonly beta: tf.Variable

  constructor(
    store: ParamStore,
    readonly name: string,
    dim: number,
    readonly eps = 1e-6,
  ) {
    this.gamma = store.create(`${name}.weight`, [dim], { kind: 'constant', value: 1 })
    this.beta = store.create(`${name}.bias`, [dim], { kind: 'constant', value: 0 })
  }

  forward(x: tf.Tensor): tf.Tensor {
    const { mean, variance } = tf.moments(x, -1, true)
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.eps))), this.gamma), this.beta)
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    const gamma = g.floats(`${this.name}.weight`, this.gamma.shape, this.gamma.dataSync() as Float32Array)
    const beta = g.floats(`${this.name}.bias`, this.beta.shape, this.beta.dataSync() as Float32Array)
    return g.node('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: this.eps })
  }
}

/** An additive attention bias [heads, T, T] (or [windows, heads, T, T]) supplied per block, both faces. */
export interface AttentionBias {
  tfjs(): tf.Tensor
  onnx(g: OnnxEmitter): string
  /** Windows per image when the bias varies by window (shifted-window masks), else 1. */
  windows: number
  /** Tokens per attention group (window area). */
  tokens: number
}

/** Multi-head self-attention on [B, T, D] tokens. */
export class MultiHeadAttention implements Layer {
  private readonly q: Linear
  private readonly k: Linear
  private readonly v: Linear
  private readonly proj: Linear
  private readonly headDim: number

  constructor(
    store: ParamStore,
    name: string,
    readonly dim: number,
    readonly heads: number,
    readonly bias?: AttentionBias,
  ) {
    this.headDim = dim / heads
    this.q = new Linear(store, `${name}.q`, dim, dim, 0.02)
    this.k = new Linear(store, `${name}.k`, dim, dim, 0.02)
    this.v = new Linear(store, `${name}.v`, dim, dim, 0.02)
    this.proj = new Linear(store, `${name}.proj`, dim, dim, 0.02)
  }

  forward(x: tf.Tensor): tf.Tensor {
    const [b, t] = x.shape as [number, number, number]
    const split = (y: tf.Tensor) => tf.transpose(tf.reshape(y, [b, t, this.heads, this.headDim]), [0, 2, 1, 3]) as tf.Tensor4D
    const q = split(this.q.forward(x))
    const k = split(this.k.forward(x))
    const v = split(this.v.forward(x))
    let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(this.headDim))
    if (this.bias) {
      const w = this.bias.windows
      scores = tf.reshape(tf.add(tf.reshape(scores, [b / w, w, this.heads, t, t]), this.bias.tfjs()), [b, this.heads, t, t])
    }
    const out = tf.matMul(tf.softmax(scores) as tf.Tensor4D, v)
    return this.proj.forward(tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, t, this.dim]))
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    const shape = g.ints(g.unique('heads_shape'), [4], [0, 0, this.heads, this.headDim])
    const split = (y: string) => g.node('Transpose', [g.node('Reshape', [y, shape])], { perm: [0, 2, 1, 3] })
    const q = split(this.q.exportOnnx(g, x))
    const k = split(this.k.exportOnnx(g, x))
    const v = split(this.v.exportOnnx(g, x))
    const scale = g.floats(g.unique('attn_scale'), [], new Float32Array([1 / Math.sqrt(this.headDim)]))
    let scores = g.node('Mul', [g.node('MatMul', [q, g.node('Transpose', [k], { perm: [0, 1, 3, 2] })]), scale])
    if (this.bias) {
      const w = this.bias.windows
      const t = this.bias.tokens
      const grouped = g.node('Reshape', [scores, g.ints(g.unique('win_group'), [5], [-1, w, this.heads, t, t])])
      scores = g.node('Reshape', [g.node('Add', [grouped, this.bias.onnx(g)]), g.ints(g.unique('win_ungroup'), [4], [-1, this.heads, t, t])])
    }
    const out = g.node('MatMul', [g.node('Softmax', [scores], { axis: -1 }), v])
    const merged = g.node('Reshape', [g.node('Transpose', [out], { perm: [0, 2, 1, 3] }), g.ints(g.unique('merge_heads'), [3], [0, 0, this.dim])])
    return this.proj.exportOnnx(g, merged)
  }
}

/** Pre-norm residual: x + f(norm(x)). */
export class PreNormResidual implements Layer {
  constructor(
    readonly norm: Layer,
    readonly body: Layer,
  ) {}

  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return tf.add(x, this.body.forward(this.norm.forward(x, ctx), ctx))
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    return g.node('Add', [x, this.body.exportOnnx(g, this.norm.exportOnnx(g, x))])
  }
}

export function mlp(store: ParamStore, name: string, dim: number, ratio = 4): Sequential {
  return new Sequential([
    new Linear(store, `${name}.fc1`, dim, dim * ratio, 0.02),
    new Activation('gelu'),
    new Linear(store, `${name}.fc2`, dim * ratio, dim, 0.02),
  ])
}

/** One ViT block: attention and MLP, each pre-norm residual. */
export function transformerBlock(store: ParamStore, name: string, dim: number, heads: number, attention?: Layer): Sequential {
  return new Sequential([
    new PreNormResidual(new LayerNorm(store, `${name}.norm1`, dim), attention ?? new MultiHeadAttention(store, `${name}.attn`, dim, heads)),
    new PreNormResidual(new LayerNorm(store, `${name}.norm2`, dim), mlp(store, `${name}.mlp`, dim)),
  ])
}

/** Patch embedding: conv k = stride = patch, then NHWC → tokens [N, h·w, D] (ONNX: NCHW → [N, h·w, D]). */
export class PatchEmbed implements Layer {
  private readonly conv: Conv2d

  constructor(store: ParamStore, name: string, patch: number, dim: number) {
    this.conv = new Conv2d(store, name, { inChannels: 3, outChannels: dim, kernel: patch, stride: patch, padding: 0, bias: true })
  }

  forward(x: tf.Tensor): tf.Tensor {
    const y = this.conv.forward(x)
    const [n, h, w, d] = y.shape as [number, number, number, number]
    return tf.reshape(y, [n, h * w, d])
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    const y = g.node('Reshape', [this.conv.exportOnnx(g, x), g.ints(g.unique('tokens'), [3], [0, 0, -1])])
    return g.node('Transpose', [y], { perm: [0, 2, 1] })
  }
}

/** Prepends a learned class token and adds learned position embeddings. */
class ClassTokenAndPosition implements Layer {
  readonly cls: tf.Variable
  readonly pos: tf.Variable

  constructor(
    store: ParamStore,
    readonly tokens: number,
    readonly dim: number,
  ) {
    this.cls = store.create('cls_token', [1, 1, dim], { kind: 'normal', std: 0.02 })
    this.pos = store.create('pos_embed', [1, tokens + 1, dim], { kind: 'normal', std: 0.02 })
  }

  forward(x: tf.Tensor): tf.Tensor {
    const cls = tf.add(tf.zeros([x.shape[0]!, 1, this.dim]), this.cls)
    return tf.add(tf.concat([cls, x], 1), this.pos)
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    const batch = g.node('Slice', [g.node('Shape', [x]), g.ints(g.unique('s'), [1], [0]), g.ints(g.unique('e'), [1], [1])])
    const shape = g.node('Concat', [batch, g.ints(g.unique('cls_shape'), [2], [1, this.dim])], { axis: 0 })
    const cls = g.node('Expand', [g.floats('cls_token', [1, 1, this.dim], this.cls.dataSync() as Float32Array), shape])
    const pos = g.floats('pos_embed', this.pos.shape, this.pos.dataSync() as Float32Array)
    return g.node('Add', [g.node('Concat', [cls, x], { axis: 1 }), pos])
  }
}

/** Selects token 0 (the class token): [N, T, D] → [N, D]. */
class ClassTokenSelect implements Layer {
  forward(x: tf.Tensor): tf.Tensor {
    const [n, , d] = x.shape as [number, number, number]
    return tf.reshape(tf.slice(x, [0, 0, 0], [n, 1, d]), [n, d])
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    return g.node('Gather', [x, g.ints(g.unique('cls_index'), [], [0])], { axis: 1 })
  }
}

/** DeiT-S (Touvron et al. 2021): patch 16, D 384, depth 12, 6 heads; tiny: 32², patch 8, D 32, depth 2, 2 heads. */
export function buildDeit(store: ParamStore, variant: 'full' | 'tiny', size: number, classes: number): Layer {
  const { patch, dim, depth, heads } = variant === 'full' ? { patch: 16, dim: 384, depth: 12, heads: 6 } : { patch: 8, dim: 32, depth: 2, heads: 2 }
  const tokens = (size / patch) ** 2
  const blocks = Array.from({ length: depth }, (_, i) => transformerBlock(store, `blocks.${i}`, dim, heads))
  return new Sequential([
    new PatchEmbed(store, 'patch_embed', patch, dim),
    new ClassTokenAndPosition(store, tokens, dim),
    ...blocks,
    new LayerNorm(store, 'norm', dim),
    new ClassTokenSelect(),
    new Linear(store, 'head', dim, classes, 0.02),
  ])
}
