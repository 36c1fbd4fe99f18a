import * as tf from '@tensorflow/tfjs'
import { batchNormTraining } from '../tf/fused-training/batch-norm-training.ts'
import type { OnnxEmitter } from './onnx-emitter.ts'
import type { ParamStore } from './params.ts'

/** State of one forward pass: training mode and the buffer updates (BatchNorm statistics) it produced. */
export interface ForwardContext {
  training: boolean
  /** New values for buffers, kept alive past tidy scopes; the trainer assigns them after the step. */
  updates: Array<{ variable: tf.Variable; value: tf.Tensor }>
  /** Overrides BatchNorm's running-average momentum for this pass (the trainer uses a cumulative average early on). */
  bnMomentum?: number
}

/**
 * A zoo building block with two faces that must agree: `forward` in tfjs (feature maps NHWC) and
 * `exportOnnx` that writes the same computation into an ONNX graph (feature maps NCHW).
 */
export interface Layer {
  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor
  exportOnnx(g: OnnxEmitter, x: string): string
}

export async function readFloats(variable: tf.Tensor): Promise<Float32Array> {
  return (await variable.data()) as Float32Array
}

function syncFloats(variable: tf.Tensor): Float32Array {
  return variable.dataSync() as Float32Array
}

function emitTransposed(g: OnnxEmitter, name: string, variable: tf.Tensor, perm: number[]): string {
  const transposed = tf.tidy(() => tf.transpose(variable, perm))
  const name_ = g.floats(name, transposed.shape, syncFloats(transposed))
  transposed.dispose()
  return name_
}

export interface Conv2dOptions {
  inChannels: number
  outChannels: number
  kernel: number
  stride?: number
  /** Symmetric padding, or [top, bottom, left, right]. Default: kernel ÷ 2 (PyTorch style). */
  padding?: number | [number, number, number, number]
  depthwise?: boolean
  bias?: boolean
}

export class Conv2d implements Layer {
  readonly weight: tf.Variable
  readonly bias?: tf.Variable
  private readonly stride: number
  private readonly pads: [number, number, number, number]
  private readonly depthwise: boolean

  constructor(
    store: ParamStore,
    readonly name: string,
    opts: Conv2dOptions,
  ) {
    const { inChannels, outChannels, kernel } = opts
    this.stride = opts.stride ?? 1
    const p = opts.padding ?? Math.floor(kernel / 2)
    this.pads = typeof p === 'number' ? [p, p, p, p] : p
    this.depthwise = opts.depthwise ?? false
    if (this.depthwise && inChannels !== outChannels) throw new Error(`${name}: depthwise conv needs in = out channels`)
    const shape = this.depthwise ? [kernel, kernel, inChannels, 1] : [kernel, kernel, inChannels, outChannels]
    const fanIn = this.depthwise ? kernel * kernel : kernel * kernel * inChannels
    this.weight = store.create(`${name}.weight`, shape, { kind: 'he', fanIn })
    if (opts.bias) this.bias = store.create(`${name}.bias`, [outChannels], { kind: 'constant', value: 0 })
  }

  forward(x: tf.Tensor): tf.Tensor {
    const [t, b, l, r] = this.pads
    const symmetric = t === b && l === r && t === l
    const input =
      symmetric || (t === 0 && b === 0 && l === 0 && r === 0)
        ? x
        : tf.pad(x, [
            [0, 0],
            [t, b],
            [l, r],
            [0, 0],
          ])
    const pad = symmetric ? t : 0
    const x4 = input as tf.Tensor4D
    let y = this.depthwise ? tf.depthwiseConv2d(x4, this.weight as tf.Tensor4D, this.stride, pad) : tf.conv2d(x4, this.weight as tf.Tensor4D, this.stride, pad)
    if (this.bias) y = tf.add(y, this.bias)
    return y
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    const weight = emitTransposed(g, `${this.name}.weight`, this.weight, this.depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1])
    const inputs = [x, weight]
    if (this.bias) inputs.push(g.floats(`${this.name}.bias`, this.bias.shape, syncFloats(this.bias)))
    const [t, b, l, r] = this.pads
    const [kernel, , channels] = this.weight.shape as number[]
    return g.node('Conv', inputs, {
      kernel_shape: [kernel!, kernel!],
      strides: [this.stride, this.stride],
      pads: [t, l, b, r],
      group: this.depthwise ? channels! : 1,
    })
  }
}

export class BatchNorm implements Layer {
  readonly gamma: tf.Variable
  readonly beta: tf.Variable
  readonly runningMean: tf.Variable
  readonly runningVar: tf.Variable

  constructor(
    store: ParamStore,
    readonly name: string,
    channels: number,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
  ) {
    this.gamma = store.create(`${name}.weight`, [channels], { kind: 'constant', value: 1 })
    this.beta = store.create(`${name}.bias`, [channels], { kind: 'constant', value: 0 })
    this.runningMean = store.create(`${name}.running_mean`, [channels], { kind: 'constant', value: 0 }, false)
    this.runningVar = store.create(`${name}.running_var`, [channels], { kind: 'constant', value: 1 }, false)
  }

  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    if (!ctx.training) return tf.batchNorm(x, this.runningMean, this.runningVar, this.beta, this.gamma, this.eps)
    const { y, mean, variance } = batchNormTraining(tf, x, this.gamma, this.beta, this.eps)
    const count = x.size / x.shape[x.shape.length - 1]!
    const m = ctx.bnMomentum ?? this.momentum
    ctx.updates.push({ variable: this.runningMean, value: tf.keep(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m))) })
    const unbiased = tf.mul(variance, count / Math.max(count - 1, 1))
    ctx.updates.push({ variable: this.runningVar, value: tf.keep(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m))) })
    return y
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    const inputs = [this.gamma, this.beta, this.runningMean, this.runningVar].map((v, i) =>
      g.floats(`${this.name}.${['weight', 'bias', 'running_mean', 'running_var'][i]}`, v.shape, syncFloats(v)),
    )
    return g.node('BatchNormalization', [x, ...inputs], { epsilon: this.eps })
  }
}

export class Activation implements Layer {
  constructor(readonly kind: 'relu' | 'relu6' | 'gelu') {}

  forward(x: tf.Tensor): tf.Tensor {
    if (this.kind === 'relu') return tf.relu(x)
    if (this.kind === 'relu6') return tf.clipByValue(x, 0, 6)
    return geluTanh(x)
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    if (this.kind === 'relu') return g.node('Relu', [x])
    if (this.kind === 'relu6') {
      return g.node('Clip', [x, g.floats(g.unique('clip_min'), [], new Float32Array([0])), g.floats(g.unique('clip_max'), [], new Float32Array([6]))])
    }
    return exportGeluTanh(g, x)
  }
}

const GELU_C = Math.sqrt(2 / Math.PI)

/** GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), GELU_C)
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1))
}

export function exportGeluTanh(g: OnnxEmitter, x: string): string {
  const scalar = (v: number) => g.floats(g.unique('gelu_c'), [], new Float32Array([v]))
  const cube = g.node('Mul', [g.node('Mul', [x, x]), x])
  const inner = g.node('Mul', [g.node('Add', [x, g.node('Mul', [cube, scalar(0.044715)])]), scalar(GELU_C)])
  return g.node('Mul', [g.node('Mul', [x, scalar(0.5)]), g.node('Add', [g.node('Tanh', [inner]), scalar(1)])])
}

export class MaxPool implements Layer {
  constructor(
    readonly kernel: number,
    readonly stride: number,
    readonly padding: number,
  ) {}

  forward(x: tf.Tensor): tf.Tensor {
    return tf.maxPool(x as tf.Tensor4D, this.kernel, this.stride, this.padding)
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    const p = this.padding
    return g.node('MaxPool', [x], { kernel_shape: [this.kernel, this.kernel], strides: [this.stride, this.stride], pads: [p, p, p, p] })
  }
}

/** NHWC → [N, C] by averaging over space; exported as GlobalAveragePool + Flatten. */
export class GlobalAvgPool implements Layer {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.mean(x, [1, 2])
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    return g.node('Flatten', [g.node('GlobalAveragePool', [x])], { axis: 1 })
  }
}

/** y = x·W (+ b) on the last axis; weight stored [in, out]. */
export class Linear implements Layer {
  readonly weight: tf.Variable
  readonly bias?: tf.Variable

  constructor(
    store: ParamStore,
    readonly name: string,
    inFeatures: number,
    outFeatures: number,
    initStd?: number,
    withBias = true,
  ) {
    this.weight = store.create(
      `${name}.weight`,
      [inFeatures, outFeatures],
      initStd ? { kind: 'normal', std: initStd } : { kind: 'normal', std: Math.sqrt(1 / inFeatures) },
    )
    if (withBias) this.bias = store.create(`${name}.bias`, [outFeatures], { kind: 'constant', value: 0 })
  }

  forward(x: tf.Tensor): tf.Tensor {
    const shape = x.shape
    const flat = (x.rank === 2 ? x : tf.reshape(x, [-1, shape[shape.length - 1]!])) as tf.Tensor2D
    const product = tf.matMul(flat, this.weight as tf.Tensor2D)
    const y = this.bias ? tf.add(product, this.bias) : product
    return x.rank === 2 ? y : tf.reshape(y, [...shape.slice(0, -1), this.weight.shape[1]!])
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    const w = g.floats(`${this.name}.weight`, this.weight.shape, syncFloats(this.weight))
    const product = g.node('MatMul', [x, w])
    if (!this.bias) return product
    return g.node('Add', [product, g.floats(`${this.name}.bias`, this.bias.shape, syncFloats(this.bias))])
  }
}

export class Sequential implements Layer {
  constructor(readonly layers: Layer[]) {}

  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return this.layers.reduce((acc, layer) => layer.forward(acc, ctx), x)
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    return this.layers.reduce((acc, layer) => layer.exportOnnx(g, acc), x)
  }
}

/** conv → BN → activation, the unit most CNNs here are made of. */
export function convBnAct(store: ParamStore, name: string, opts: Conv2dOptions, act: Activation['kind'] | null = 'relu', bnEps = 1e-5): Sequential {
  const layers: Layer[] = [new Conv2d(store, `${name}.conv`, opts), new BatchNorm(store, `${name}.bn`, opts.outChannels, bnEps)]
  if (act) layers.push(new Activation(act))
  return new Sequential(layers)
}
