import { createHash } from 'node:crypto'
import type * as tfjs from '@tensorflow/tfjs'
import type { Random } from './random.ts'
import { fromRgbSigned, type Tf } from './tf-runtime.ts'

/** One learned tensor of a small network: a convolution kernel (`[k, k, in, out]`), a dense matrix or a bias. */
export interface ParamSpec {
  name: string
  shape: number[]
  /** `he` draws N(0, 2/fanIn) (fanIn = product of all but the last axis); `zeros` starts at 0. */
  init: 'he' | 'zeros'
  /** Multiplies the He standard deviation (e.g. 0.1 for a last layer that should start near zero). */
  gain?: number
}

/** Weights as stored on disk: every tensor as base64 little-endian float32, with its shape. */
export interface NetworkWeights {
  arch: string
  params: Array<{ name: string; shape: number[]; data: string }>
}

/**
 * The learned tensors of one small network, by name, plus the few layers GenImage-mini's generator families are
 * made of. Every layer call must run inside `tf.tidy` (or an optimizer's `minimize`), like the autoencoder's.
 */
export class ParamSet {
  private constructor(
    private readonly tf: Tf,
    readonly arch: string,
    private readonly tensors: Map<string, tfjs.Variable>,
  ) {}

  /** Fresh weights drawn from `random`, so one seed gives one starting point on every backend. */
  static create(tf: Tf, arch: string, specs: readonly ParamSpec[], random: Random): ParamSet {
    const tensors = new Map<string, tfjs.Variable>()
    for (const spec of specs) {
      const count = spec.shape.reduce((a, b) => a * b, 1)
      const fanIn = count / spec.shape[spec.shape.length - 1]!
      const std = Math.sqrt(2 / fanIn) * (spec.gain ?? 1)
      const values = spec.init === 'zeros' ? new Float32Array(count) : Float32Array.from({ length: count }, () => random.normal() * std)
      tensors.set(spec.name, tf.variable(tf.tensor(values, spec.shape), true, `${arch}_${spec.name}_${uniqueSuffix++}`))
    }
    return new ParamSet(tf, arch, tensors)
  }

  /** Loads stored weights; throws when they belong to another architecture or a shape differs. */
  static fromWeights(tf: Tf, specs: readonly ParamSpec[], weights: NetworkWeights): ParamSet {
    const tensors = new Map<string, tfjs.Variable>()
    const saved = new Map(weights.params.map((p) => [p.name, p]))
    for (const spec of specs) {
      const p = saved.get(spec.name)
      if (!p || p.shape.join('x') !== spec.shape.join('x')) throw new Error(`${weights.arch} weights do not match tensor ${spec.name}`)
      const bytes = Buffer.from(p.data, 'base64')
      const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
      tensors.set(spec.name, tf.variable(tf.tensor(values, spec.shape), false, `${weights.arch}_${spec.name}_${uniqueSuffix++}`))
    }
    return new ParamSet(tf, weights.arch, tensors)
  }

  get(name: string): tfjs.Variable {
    const tensor = this.tensors.get(name)
    if (!tensor) throw new Error(`${this.arch} has no tensor ${name}`)
    return tensor
  }

  /** Trainable variables whose names start with `prefix` (all when omitted), for an optimizer's var list. */
  variables(prefix = ''): tfjs.Variable[] {
    return [...this.tensors].filter(([name]) => name.startsWith(prefix)).map(([, v]) => v)
  }

  /** Number of learned scalars (under `prefix`). */
  count(prefix = ''): number {
    return this.variables(prefix).reduce((sum, v) => sum + v.size, 0)
  }

  async toWeights(): Promise<NetworkWeights> {
    const params = await Promise.all(
      [...this.tensors].map(async ([name, v]) => {
        const values = (await v.data()) as Float32Array
        return { name, shape: v.shape, data: Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64') }
      }),
    )
    return { arch: this.arch, params }
  }

  /** 'same' convolution with tensors `<name>_w` (`[k, k, in, out]`) and `<name>_b`. */
  conv(x: tfjs.Tensor4D, name: string, stride: 1 | 2 = 1): tfjs.Tensor4D {
    return this.tf.add(this.tf.conv2d(x, this.get(`${name}_w`) as tfjs.Tensor4D, stride, 'same'), this.get(`${name}_b`)) as tfjs.Tensor4D
  }

  /** Strided (×2) transposed convolution; kernel `<name>_w` is stored `[k, k, out, in]` as tfjs expects. */
  convTranspose(x: tfjs.Tensor4D, name: string): tfjs.Tensor4D {
    const [batch, height, width] = x.shape
    const w = this.get(`${name}_w`) as tfjs.Tensor4D
    const out = this.tf.conv2dTranspose(x, w, [batch, height * 2, width * 2, w.shape[2]], 2, 'same')
    return this.tf.add(out, this.get(`${name}_b`)) as tfjs.Tensor4D
  }

  /** `[n, in] × <name>_w + <name>_b`. */
  dense(x: tfjs.Tensor2D, name: string): tfjs.Tensor2D {
    return this.tf.add(this.tf.matMul(x, this.get(`${name}_w`) as tfjs.Tensor2D), this.get(`${name}_b`)) as tfjs.Tensor2D
  }

  dispose(): void {
    for (const v of this.tensors.values()) v.dispose()
  }
}

let uniqueSuffix = 0

/** Kernel and bias specs of a `k×k` convolution from `inC` to `outC` channels. */
export function convSpecs(name: string, k: number, inC: number, outC: number, gain = 1): ParamSpec[] {
  return [
    { name: `${name}_w`, shape: [k, k, inC, outC], init: 'he', gain },
    { name: `${name}_b`, shape: [outC], init: 'zeros' },
  ]
}

/** Kernel and bias specs of a ×2 transposed convolution from `inC` to `outC` channels. */
export function convTransposeSpecs(name: string, k: number, inC: number, outC: number): ParamSpec[] {
  return [
    { name: `${name}_w`, shape: [k, k, outC, inC], init: 'he' },
    { name: `${name}_b`, shape: [outC], init: 'zeros' },
  ]
}

export function denseSpecs(name: string, inC: number, outC: number): ParamSpec[] {
  return [
    { name: `${name}_w`, shape: [inC, outC], init: 'he' },
    { name: `${name}_b`, shape: [outC], init: 'zeros' },
  ]
}

/** Sinusoidal embedding of diffusion timesteps (`[n, dim]`), as in DDPM; `total` is the schedule length. */
export function timestepEmbedding(tf: Tf, timesteps: readonly number[], dim: number, total: number): tfjs.Tensor2D {
  const half = dim / 2
  const values = new Float32Array(timesteps.length * dim)
  for (const [i, t] of timesteps.entries()) {
    for (let j = 0; j < half; j++) {
      const angle = ((t / total) * 1000) / 10000 ** (j / half)
      values[i * dim + j] = Math.sin(angle)
      values[i * dim + half + j] = Math.cos(angle)
    }
  }
  return tf.tensor2d(values, [timesteps.length, dim])
}

/** Gaussian noise of `shape` (batch first), each item from its own stream so batching does not change it. */
export function noiseFrom(tf: Tf, randoms: readonly Random[], shape: readonly number[]): tfjs.Tensor {
  const per = shape.slice(1).reduce((a, b) => a * b, 1)
  const values = new Float32Array(randoms.length * per)
  for (const [i, random] of randoms.entries()) for (let j = 0; j < per; j++) values[i * per + j] = random.normal()
  return tf.tensor(values, [randoms.length, ...shape.slice(1)])
}

/** sha256 (hex) of weights as serialised for the cache. */
export function weightsSha256(weights: NetworkWeights): string {
  return createHash('sha256').update(JSON.stringify(weights)).digest('hex')
}

/** A batch of `count` patches drawn with `random`, as NHWC floats mapped from [0, 255] to [-1, 1]. */
export function randomBatch(patches: readonly Buffer[], side: number, count: number, random: Random): tfjs.Tensor4D {
  return fromRgbSigned(
    Array.from({ length: count }, () => patches[random.int(0, patches.length - 1)]!),
    side,
    side,
  )
}
