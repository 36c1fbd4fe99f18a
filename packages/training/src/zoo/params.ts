import * as tf from '@tensorflow/tfjs'

/** A small, seedable PRNG (mulberry32). Same seed → same sequence on every machine. */
export class SeededRandom {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = Math.max(this.next(), 1e-12)
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next())
  }
  getState(): number {
    return this.state
  }
  /** Fisher-Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      ;[out[i], out[j]] = [out[j] as T, out[i] as T]
    }
    return out
  }
}

/** Derives an independent seed from a base seed and integers (epoch, index, …). */
export function deriveSeed(...parts: number[]): number {
  let h = 0x811c9dc5
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x01000193) >>> 0
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0
  }
  return h >>> 0
}

let storeCount = 0

export type Init = { kind: 'he'; fanIn: number } | { kind: 'normal'; std: number } | { kind: 'constant'; value: number }

/**
 * Holds every tensor a model owns, by dotted name. Trainable parameters get gradients;
 * buffers (BatchNorm running statistics, frozen weights) do not.
 */
export class ParamStore {
  readonly trainable = new Map<string, tf.Variable>()
  readonly buffers = new Map<string, tf.Variable>()
  private readonly random: SeededRandom
  /** tfjs registers variables globally by name; the scope keeps two models' names apart. */
  private readonly scope = `model${++storeCount}`

  constructor(seed: number) {
    this.random = new SeededRandom(seed)
  }

  /** Creates a parameter with a seeded initialisation. `trainable: false` makes it a buffer. */
  create(name: string, shape: number[], init: Init, trainable = true): tf.Variable {
    if (this.trainable.has(name) || this.buffers.has(name)) throw new Error(`duplicate parameter name ${name}`)
    const size = shape.reduce((a, b) => a * b, 1)
    const values = new Float32Array(size)
    if (init.kind === 'constant') values.fill(init.value)
    else {
      const std = init.kind === 'he' ? Math.sqrt(2 / init.fanIn) : init.std
      for (let i = 0; i < size; i++) values[i] = this.random.normal() * std
    }
    const initial = tf.tensor(values, shape)
    const variable = tf.variable(initial, trainable, `${this.scope}/${name}`)
    initial.dispose()
    ;(trainable ? this.trainable : this.buffers).set(name, variable)
    return variable
  }

  /** Marks every parameter whose name starts with `prefix` as frozen (moved to buffers). */
  freeze(prefix: string): void {
    for (const [name, variable] of [...this.trainable]) {
      if (!name.startsWith(prefix)) continue
      this.trainable.delete(name)
      variable.trainable = false
      this.buffers.set(name, variable)
    }
  }

  all(): Map<string, tf.Variable> {
    return new Map([...this.trainable, ...this.buffers])
  }

  get(name: string): tf.Variable {
    const variable = this.trainable.get(name) ?? this.buffers.get(name)
    if (!variable) throw new Error(`no parameter named ${name}`)
    return variable
  }

  parameterCount(trainableOnly = false): number {
    const source = trainableOnly ? this.trainable : this.all()
    let count = 0
    for (const variable of source.values()) count += variable.size
    return count
  }

  /** Copies values in: names and shapes must match exactly. */
  load(values: Map<string, { shape: number[]; data: Float32Array }>): void {
    for (const [name, variable] of this.all()) {
      const value = values.get(name)
      if (!value) throw new Error(`checkpoint has no tensor named ${name}`)
      if (value.shape.join('x') !== variable.shape.join('x')) {
        throw new Error(`tensor ${name}: checkpoint shape ${value.shape.join('x')} ≠ model shape ${variable.shape.join('x')}`)
      }
      const tensor = tf.tensor(value.data, value.shape)
      variable.assign(tensor)
      tensor.dispose()
    }
  }

  dispose(): void {
    for (const variable of this.all().values()) variable.dispose()
    this.trainable.clear()
    this.buffers.clear()
  }
}
