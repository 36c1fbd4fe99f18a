import * as tf from '@tensorflow/tfjs'
import type { InputConfig, ModelTask } from '@genimage/shared'
import type { Architecture, Variant } from '@genimage/shared/zoo'
import type { ForwardContext, Layer } from './layers.ts'
import type { OnnxEmitter } from './onnx-emitter.ts'
import type { ParamStore } from './params.ts'

export interface DetectorInfo {
  /** Zoo name, e.g. `npr-tiny`. */
  name: string
  architecture: Architecture
  variant: Variant
  task: ModelTask
  labels: string[]
  input: InputConfig
}

/**
 * A zoo model: a tfjs network over normalised NHWC images producing logits [N, labels.length],
 * and the same network written into an ONNX graph over NCHW images.
 */
export class Detector {
  constructor(
    readonly info: DetectorInfo,
    readonly params: ParamStore,
    readonly network: Layer,
  ) {}

  get labels(): string[] {
    return this.info.labels
  }

  /** Forward pass; in training mode `ctx.updates` receives BatchNorm statistic updates. */
  forward(images: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D {
    return this.network.forward(images, ctx) as tf.Tensor2D
  }

  /** Inference logits for normalised NHWC images. */
  predict(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.forward(images, { training: false, updates: [] }))
  }

  /** Writes the network into `g`, reading the NCHW image named `input`; returns the logits' name. */
  exportOnnx(g: OnnxEmitter, input: string): string {
    return this.network.exportOnnx(g, input)
  }

  dispose(): void {
    this.params.dispose()
  }
}

/** A layer with no parameters defined by a pair of functions. */
export class FunctionLayer implements Layer {
  constructor(
    private readonly tfjs: (x: tf.Tensor, ctx: ForwardContext) => tf.Tensor,
    private readonly onnx: (g: OnnxEmitter, x: string) => string,
  ) {}

  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return this.tfjs(x, ctx)
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    return this.onnx(g, x)
  }
}

/** Multiplies by a constant (both faces). */
export function scaleLayer(factor: number): FunctionLayer {
  return new FunctionLayer(
    (x) => tf.mul(x, factor),
    (g, x) => g.node('Mul', [x, g.floats(g.unique('scale'), [], new Float32Array([factor]))]),
  )
}
