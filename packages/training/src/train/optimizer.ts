import * as tf from '@tensorflow/tfjs'

export interface OptimizerConfig {
  kind: 'sgd' | 'adamw'
  learningRate: number
  weightDecay: number
  /** SGD momentum (default 0.9). */
  momentum?: number
  beta1?: number
  beta2?: number
  epsilon?: number
}

/**
 * SGD with momentum (PyTorch semantics: decay added to the gradient) and AdamW (decoupled decay).
 * Decay skips 1-D tensors (biases, norm scales). All state is named tensors, so checkpoints hold it.
 */
export class Optimizer {
  private readonly slots = new Map<string, tf.Variable>()
  stepCount = 0

  constructor(readonly config: OptimizerConfig) {}

  /** Applies one update with learning rate `lr` to every variable that has a gradient. */
  apply(variables: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): void {
    this.stepCount++
    const { kind, weightDecay } = this.config
    tf.tidy(() => {
      for (const [name, variable] of variables) {
        const grad = grads[variable.name]
        if (!grad) continue
        const decay = variable.rank > 1 ? weightDecay : 0
        if (kind === 'sgd') {
          const momentum = this.config.momentum ?? 0.9
          const g = decay > 0 ? tf.add(grad, tf.mul(variable, decay)) : grad
          const velocity = this.slot(`${name}.momentum`, variable)
          const v = tf.add(tf.mul(velocity, momentum), g)
          velocity.assign(v)
          variable.assign(tf.sub(variable, tf.mul(v, lr)))
        } else {
          const b1 = this.config.beta1 ?? 0.9
          const b2 = this.config.beta2 ?? 0.999
          const eps = this.config.epsilon ?? 1e-8
          const m = this.slot(`${name}.m`, variable)
          const v = this.slot(`${name}.v`, variable)
          const m1 = tf.add(tf.mul(m, b1), tf.mul(grad, 1 - b1))
          const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(grad), 1 - b2))
          m.assign(m1)
          v.assign(v1)
          const mHat = tf.div(m1, 1 - b1 ** this.stepCount)
          const vHat = tf.div(v1, 1 - b2 ** this.stepCount)
          let update = tf.div(mHat, tf.add(tf.sqrt(vHat), eps))
          if (decay > 0) update = tf.add(update, tf.mul(variable, decay))
          variable.assign(tf.sub(variable, tf.mul(update, lr)))
        }
      }
    })
  }

  /** Named state tensors, for checkpoints. */
  state(): Map<string, tf.Variable> {
    return this.slots
  }

  /** Restores state saved by `state()`. */
  load(step: number, values: Map<string, { shape: number[]; data: Float32Array }>): void {
    this.stepCount = step
    for (const [name, value] of values) {
      const tensor = tf.tensor(value.data, value.shape)
      const existing = this.slots.get(name)
      if (existing) existing.assign(tensor)
      else this.slots.set(name, tf.variable(tensor, false))
      tensor.dispose()
    }
  }

  dispose(): void {
    for (const slot of this.slots.values()) slot.dispose()
    this.slots.clear()
  }

  private slot(name: string, like: tf.Variable): tf.Variable {
    let slot = this.slots.get(name)
    if (!slot) {
      slot = tf.variable(tf.zerosLike(like), false)
      this.slots.set(name, slot)
    }
    return slot
  }
}

/** Cosine decay from `base` to `base × minFactor` over `total` steps, after a linear warm-up of `warmup` steps. */
export function cosineLearningRate(step: number, total: number, base: number, warmup = 0, minFactor = 0.01): number {
  if (warmup > 0 && step < warmup) return (base * (step + 1)) / warmup
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup))
  return base * (minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress)))
}
