import * as tf from '@tensorflow/tfjs'
import { FunctionLayer } from './detector.ts'
import { Linear, Sequential, type ForwardContext, type Layer } from './layers.ts'
import type { OnnxEmitter } from './onnx-emitter.ts'
import type { ParamStore } from './params.ts'
import { resnet50Spec, resnetTrunk } from './resnet.ts'

/** L·X·R for every [H, W] matrix of x [B, H, W] (2-D matMuls only, so every tfjs backend runs it). */
export function sandwich(x: tf.Tensor, left: tf.Tensor, right: tf.Tensor): tf.Tensor {
  const [b, h, w] = x.shape as [number, number, number]
  const xr = tf.reshape(tf.matMul(tf.reshape(x, [b * h, w]) as tf.Tensor2D, right as tf.Tensor2D), [b, h, w])
  const rows = tf.reshape(tf.transpose(xr, [0, 2, 1]), [b * w, h]) as tf.Tensor2D
  return tf.transpose(tf.reshape(tf.matMul(rows, left as tf.Tensor2D, false, true), [b, w, h]), [0, 2, 1])
}

/** ONNX form of sandwich on [N, C, H, W] (MatMul broadcasts the [H, H] and [W, W] matrices). */
export function exportSandwich(g: OnnxEmitter, x: string, left: string, right: string): string {
  return g.node('MatMul', [g.node('MatMul', [left, x]), right])
}

/** NHWC → [N·C, H, W] and back. */
const toPlanes = (x: tf.Tensor) => {
  const [n, h, w, c] = x.shape as [number, number, number, number]
  return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c, h, w])
}
const fromPlanes = (planes: tf.Tensor, n: number, c: number) => {
  const [, h, w] = planes.shape as [number, number, number]
  return tf.transpose(tf.reshape(planes, [n, c, h, w]), [0, 2, 3, 1])
}

function matrix(size: number, value: (row: number, col: number) => number): Float32Array {
  const out = new Float32Array(size * size)
  for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) out[r * size + c] = value(r, c)
  return out
}

/** Real and imaginary parts of the DFT matrix with the zero frequency moved to the centre (fftshift). */
export function shiftedDft(size: number): { cos: Float32Array; sin: Float32Array } {
  const shift = Math.floor(size / 2)
  const angle = (k: number, n: number) => (2 * Math.PI * (((k + size - shift) % size) * n)) / size
  return { cos: matrix(size, (k, n) => Math.cos(angle(k, n))), sin: matrix(size, (k, n) => Math.sin(angle(k, n))) }
}

/** Orthonormal DCT-II matrix D: D·x is the DCT of x, Dᵀ·y the inverse. */
export function dctMatrix(size: number): Float32Array {
  return matrix(size, (k, n) => (k === 0 ? Math.sqrt(1 / size) : Math.sqrt(2 / size)) * Math.cos((Math.PI * (2 * n + 1) * k) / (2 * size)))
}

const transposeOf = (m: Float32Array, size: number) => matrix(size, (r, c) => m[c * size + r]!)

/**
 * Log-magnitude spectrum of each colour channel, centred (Spec's input): log(1 + |DFT(x)|).
 * F = (A − iB)·X·(A − iB)ᵀ with A, B the shifted cos / sin matrices.
 */
export function spectrumLayer(size: number): Layer {
  const { cos, sin } = shiftedDft(size)
  const cosT = transposeOf(cos, size)
  const sinT = transposeOf(sin, size)
  const magnitude = (re: tf.Tensor, im: tf.Tensor) => tf.log(tf.add(tf.sqrt(tf.add(tf.square(re), tf.square(im))), 1))
  return new FunctionLayer(
    (x) =>
      tf.tidy(() => {
        const planes = toPlanes(x)
        const [a, b, at, bt] = [cos, sin, cosT, sinT].map((m) => tf.tensor2d(m, [size, size]))
        const re = tf.sub(sandwich(planes, a!, at!), sandwich(planes, b!, bt!))
        const im = tf.neg(tf.add(sandwich(planes, a!, bt!), sandwich(planes, b!, at!)))
        return fromPlanes(magnitude(re, im), x.shape[0]!, x.shape[3]!)
      }),
    (g, x) => {
      const [a, b, at, bt] = [cos, sin, cosT, sinT].map((m) => g.floats(g.unique('dft'), [size, size], m))
      const re = g.node('Sub', [exportSandwich(g, x, a!, at!), exportSandwich(g, x, b!, bt!)])
      const im = g.node('Add', [exportSandwich(g, x, a!, bt!), exportSandwich(g, x, b!, at!)])
      const power = g.node('Add', [g.node('Mul', [re, re]), g.node('Mul', [im, im])])
      return g.node('Log', [g.node('Add', [g.node('Sqrt', [power]), g.floats(g.unique('one'), [], new Float32Array([1]))])])
    },
  )
}

/** Spec (Zhang et al. 2019): a ResNet on the centred log spectrum. */
export function buildSpec(store: ParamStore, variant: 'full' | 'tiny', size: number, classes: number): Layer {
  const { trunk, features } = resnetTrunk(store, 'backbone', resnet50Spec(variant))
  return new Sequential([spectrumLayer(size), trunk, new Linear(store, 'head', features, classes)])
}

/** F3Net's band edges on i + j of the DCT spectrum: low, middle, high and all (DC excluded), as in its code. */
function bandMasks(size: number): Float32Array[] {
  const bands: Array<[number, number]> = [
    [0, Math.floor(size / 2.82)],
    [Math.floor(size / 2.82), Math.floor(size / 2)],
    [Math.floor(size / 2), size * 2],
    [0, size * 2],
  ]
  return bands.map(([start, end]) => matrix(size, (i, j) => (i + j > end || i + j <= start ? 0 : 1)))
}

/**
 * Frequency-aware decomposition (F3Net): DCT, four band filters (fixed base + learnable 2σ(w) − 1),
 * inverse DCT; 3 channels in, 12 out.
 */
export class FrequencyDecomposition implements Layer {
  private readonly bases: Float32Array[]
  private readonly learnable: tf.Variable[]
  private readonly dct: Float32Array

  constructor(
    store: ParamStore,
    readonly name: string,
    readonly size: number,
  ) {
    this.bases = bandMasks(size)
    this.learnable = this.bases.map((_, i) => store.create(`${name}.filter${i}`, [size, size], { kind: 'normal', std: 0.1 }))
    this.dct = dctMatrix(size)
  }

  private filter(i: number): tf.Tensor {
    return tf.add(tf.tensor2d(this.bases[i]!, [this.size, this.size]), tf.sub(tf.mul(tf.sigmoid(this.learnable[i]!), 2), 1))
  }

  forward(x: tf.Tensor, _ctx: ForwardContext): tf.Tensor {
    const d = tf.tensor2d(this.dct, [this.size, this.size])
    const dt = tf.transpose(d)
    const planes = toPlanes(x)
    const spectrum = sandwich(planes, d, dt)
    const bands = this.bases.map((_, i) => tf.reshape(sandwich(tf.mul(spectrum, this.filter(i)), dt, d), [x.shape[0]!, x.shape[3]!, this.size, this.size]))
    return tf.transpose(tf.concat(bands, 1), [0, 2, 3, 1])
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    const d = g.floats(`${this.name}.dct`, [this.size, this.size], this.dct)
    const dt = g.floats(`${this.name}.dct_t`, [this.size, this.size], transposeOf(this.dct, this.size))
    const spectrum = exportSandwich(g, x, d, dt)
    const bands = this.bases.map((_, i) => {
      const filter = tf.tidy(() => this.filter(i))
      const name = g.floats(`${this.name}.band${i}`, [this.size, this.size], filter.dataSync() as Float32Array)
      filter.dispose()
      return exportSandwich(g, g.node('Mul', [spectrum, name]), dt, d)
    })
    return g.node('Concat', bands, { axis: 1 })
  }
}

/** RGB stream and frequency (FAD) stream, each a ResNet trunk, pooled features concatenated into one head. */
class TwoStream implements Layer {
  constructor(
    readonly rgb: Layer,
    readonly frequency: Layer,
    readonly head: Layer,
  ) {}

  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return this.head.forward(tf.concat([this.rgb.forward(x, ctx), this.frequency.forward(x, ctx)], 1), ctx)
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    return this.head.exportOnnx(g, g.node('Concat', [this.rgb.exportOnnx(g, x), this.frequency.exportOnnx(g, x)], { axis: 1 }))
  }
}

/** F3Net-style detector: FAD branch (12 channels) and RGB branch, late fusion. */
export function buildF3Net(store: ParamStore, variant: 'full' | 'tiny', size: number, classes: number): Layer {
  const rgb = resnetTrunk(store, 'rgb', resnet50Spec(variant))
  const frequency = resnetTrunk(store, 'fad', resnet50Spec(variant, 12))
  const fad = new Sequential([new FrequencyDecomposition(store, 'fad.decomposition', size), frequency.trunk])
  return new TwoStream(rgb.trunk, fad, new Linear(store, 'head', rgb.features + frequency.features, classes))
}
