import * as tf from '@tensorflow/tfjs'
import { Linear, Sequential, type Layer } from './layers.ts'
import type { OnnxEmitter } from './onnx-emitter.ts'
import type { ParamStore } from './params.ts'
import { LayerNorm, mlp, MultiHeadAttention, PatchEmbed, PreNormResidual, type AttentionBias } from './transformer.ts'

/** Index into the relative-position table for every (query, key) pair of a ws × ws window (Swin's scheme). */
function relativePositionIndex(ws: number): Int32Array {
  const t = ws * ws
  const index = new Int32Array(t * t)
  for (let i = 0; i < t; i++) {
    for (let j = 0; j < t; j++) {
      const dy = Math.floor(i / ws) - Math.floor(j / ws) + ws - 1
      const dx = (i % ws) - (j % ws) + ws - 1
      index[i * t + j] = dy * (2 * ws - 1) + dx
    }
  }
  return index
}

/** The shifted-window mask [windows, T, T]: 0 within a region, −100 across regions (Swin's construction). */
function shiftedWindowMask(resolution: number, ws: number, shift: number): Float32Array {
  const region = (p: number) => (p < resolution - ws ? 0 : p < resolution - shift ? 1 : 2)
  const perSide = resolution / ws
  const t = ws * ws
  const mask = new Float32Array(perSide * perSide * t * t)
  for (let wy = 0; wy < perSide; wy++) {
    for (let wx = 0; wx < perSide; wx++) {
      const labels = Array.from({ length: t }, (_, k) => region(wy * ws + Math.floor(k / ws)) * 3 + region(wx * ws + (k % ws)))
      const base = (wy * perSide + wx) * t * t
      for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) mask[base + i * t + j] = labels[i] === labels[j] ? 0 : -100
    }
  }
  return mask
}

class RelativePositionBias implements AttentionBias {
  readonly table: tf.Variable
  readonly tokens: number
  readonly windows: number
  private readonly index: Int32Array
  private readonly mask?: Float32Array

  constructor(
    store: ParamStore,
    readonly name: string,
    readonly ws: number,
    readonly heads: number,
    resolution: number,
    shift: number,
  ) {
    this.table = store.create(`${name}.relative_position_bias_table`, [(2 * ws - 1) ** 2, heads], { kind: 'normal', std: 0.02 })
    this.index = relativePositionIndex(ws)
    this.tokens = ws * ws
    this.windows = shift > 0 ? (resolution / ws) ** 2 : 1
    if (shift > 0) this.mask = shiftedWindowMask(resolution, ws, shift)
  }

  tfjs(): tf.Tensor {
    const t = this.tokens
    const bias = tf.transpose(tf.reshape(tf.gather(this.table, tf.tensor1d(this.index, 'int32')), [t, t, this.heads]), [2, 0, 1])
    return this.mask ? tf.add(tf.reshape(tf.tensor(this.mask), [this.windows, 1, t, t]), bias) : bias
  }

  onnx(g: OnnxEmitter): string {
    const value = tf.tidy(() => this.tfjs())
    const name = g.floats(`${this.name}.bias`, value.shape, value.dataSync() as Float32Array)
    value.dispose()
    return name
  }
}

/** (Shifted) window attention on [N, H·W, C] tokens: roll, partition, attend with bias, merge, roll back. */
class WindowAttention implements Layer {
  private readonly attention: MultiHeadAttention

  constructor(
    store: ParamStore,
    name: string,
    dim: number,
    heads: number,
    readonly resolution: number,
    readonly ws: number,
    readonly shift: number,
  ) {
    this.attention = new MultiHeadAttention(store, `${name}.attn`, dim, heads, new RelativePositionBias(store, `${name}.attn`, ws, heads, resolution, shift))
  }

  forward(x: tf.Tensor): tf.Tensor {
    const [n, , c] = x.shape as [number, number, number]
    const { resolution: r, ws, shift } = this
    let grid = tf.reshape(x, [n, r, r, c])
    if (shift) grid = roll(grid, -shift)
    const windows = tf.reshape(tf.transpose(tf.reshape(grid, [n, r / ws, ws, r / ws, ws, c]), [0, 1, 3, 2, 4, 5]), [-1, ws * ws, c])
    const attended = this.attention.forward(windows)
    let merged = tf.reshape(tf.transpose(tf.reshape(attended, [n, r / ws, r / ws, ws, ws, c]), [0, 1, 3, 2, 4, 5]), [n, r, r, c])
    if (shift) merged = roll(merged, shift)
    return tf.reshape(merged, [n, r * r, c])
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    const { resolution: r, ws, shift } = this
    const c = this.attention.dim
    const shape = (values: number[]) => g.ints(g.unique('win_shape'), [values.length], values)
    let grid = g.node('Reshape', [x, shape([-1, r, r, c])])
    if (shift) grid = exportRoll(g, grid, -shift, r)
    const windows = g.node('Reshape', [
      g.node('Transpose', [g.node('Reshape', [grid, shape([-1, r / ws, ws, r / ws, ws, c])])], { perm: [0, 1, 3, 2, 4, 5] }),
      shape([-1, ws * ws, c]),
    ])
    const attended = this.attention.exportOnnx(g, windows)
    let merged = g.node('Reshape', [
      g.node('Transpose', [g.node('Reshape', [attended, shape([-1, r / ws, r / ws, ws, ws, c])])], { perm: [0, 1, 3, 2, 4, 5] }),
      shape([-1, r, r, c]),
    ])
    if (shift) merged = exportRoll(g, merged, shift, r)
    return g.node('Reshape', [merged, shape([-1, r * r, c])])
  }
}

/** Cyclic shift of [N, R, R, C] by `by` along both spatial axes (torch.roll semantics). */
function roll(x: tf.Tensor, by: number): tf.Tensor {
  const r = x.shape[1]!
  const k = ((by % r) + r) % r
  const along = (y: tf.Tensor, axis: number) => {
    const size = [...y.shape]
    const tail = tf.slice(
      y,
      y.shape.map((_, i) => (i === axis ? r - k : 0)),
      size.map((s, i) => (i === axis ? k : s)),
    )
    const head = tf.slice(
      y,
      y.shape.map(() => 0),
      size.map((s, i) => (i === axis ? r - k : s)),
    )
    return tf.concat([tail, head], axis)
  }
  return along(along(x, 1), 2)
}

function exportRoll(g: OnnxEmitter, x: string, by: number, r: number): string {
  const k = ((by % r) + r) % r
  const slice = (y: string, axis: number, start: number, end: number) =>
    g.node('Slice', [y, g.ints(g.unique('roll_s'), [1], [start]), g.ints(g.unique('roll_e'), [1], [end]), g.ints(g.unique('roll_a'), [1], [axis])])
  const along = (y: string, axis: number) => g.node('Concat', [slice(y, axis, r - k, r), slice(y, axis, 0, r - k)], { axis })
  return along(along(x, 1), 2)
}

/** Patch merging: 2×2 neighbours concatenated (4C, Swin's order x0 x1 x2 x3), LayerNorm, linear to 2C; resolution halves. */
class PatchMerging implements Layer {
  private readonly norm: LayerNorm
  private readonly reduction: Linear

  constructor(
    store: ParamStore,
    name: string,
    readonly dim: number,
    readonly resolution: number,
  ) {
    this.norm = new LayerNorm(store, `${name}.norm`, 4 * dim, 1e-5)
    this.reduction = new Linear(store, `${name}.reduction`, 4 * dim, 2 * dim, 0.02, false)
  }

  forward(x: tf.Tensor): tf.Tensor {
    const [n, , c] = x.shape as [number, number, number]
    const r = this.resolution
    const neighbours = tf.transpose(tf.reshape(x, [n, r / 2, 2, r / 2, 2, c]), [0, 1, 3, 4, 2, 5])
    const merged = tf.reshape(neighbours, [n, (r / 2) ** 2, 4 * c])
    return this.reduction.forward(this.norm.forward(merged))
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    const r = this.resolution
    const split = g.node('Reshape', [x, g.ints(g.unique('merge_split'), [6], [-1, r / 2, 2, r / 2, 2, this.dim])])
    const neighbours = g.node('Transpose', [split], { perm: [0, 1, 3, 4, 2, 5] })
    const merged = g.node('Reshape', [neighbours, g.ints(g.unique('merge_tokens'), [3], [-1, (r / 2) ** 2, 4 * this.dim])])
    return this.reduction.exportOnnx(g, this.norm.exportOnnx(g, merged))
  }
}

/** Mean over tokens: [N, T, C] → [N, C]. */
class TokenMean implements Layer {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.mean(x, 1)
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    return g.node('ReduceMean', [x], { axes: [1], keepdims: 0 })
  }
}

/** Swin-T (Liu et al. 2021): patch 4, window 7, D 96, depths 2-2-6-2, heads 3-6-12-24; tiny: 32², D 16, depths 2-2, window 4. */
export function buildSwin(store: ParamStore, variant: 'full' | 'tiny', size: number, classes: number): Layer {
  const cfg = variant === 'full' ? { dim: 96, depths: [2, 2, 6, 2], heads: [3, 6, 12, 24], window: 7 } : { dim: 16, depths: [2, 2], heads: [1, 2], window: 4 }
  const layers: Layer[] = [new PatchEmbed(store, 'patch_embed.proj', 4, cfg.dim), new LayerNorm(store, 'patch_embed.norm', cfg.dim, 1e-5)]
  let resolution = size / 4
  let dim = cfg.dim
  cfg.depths.forEach((depth, s) => {
    const ws = Math.min(cfg.window, resolution)
    for (let b = 0; b < depth; b++) {
      const name = `layers.${s}.blocks.${b}`
      const shift = b % 2 === 1 && resolution > cfg.window ? Math.floor(ws / 2) : 0
      layers.push(
        new PreNormResidual(new LayerNorm(store, `${name}.norm1`, dim, 1e-5), new WindowAttention(store, name, dim, cfg.heads[s]!, resolution, ws, shift)),
      )
      layers.push(new PreNormResidual(new LayerNorm(store, `${name}.norm2`, dim, 1e-5), mlp(store, `${name}.mlp`, dim)))
    }
    if (s < cfg.depths.length - 1) {
      layers.push(new PatchMerging(store, `layers.${s}.downsample`, dim, resolution))
      resolution /= 2
      dim *= 2
    }
  })
  layers.push(new LayerNorm(store, 'norm', dim, 1e-5), new TokenMean(), new Linear(store, 'head', dim, classes, 0.02))
  return new Sequential(layers)
}
