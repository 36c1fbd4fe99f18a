import { OnnxGraphBuilder, toInt64Array, type Attributes } from '@genimage/shared/onnx'
import type { Detector } from '../zoo/detector.ts'
import type { OnnxEmitter } from '../zoo/onnx-emitter.ts'

/** Opset of exported models; onnxruntime-node 1.30 runs it on every execution provider. */
export const EXPORT_OPSET = 17

class BuilderEmitter implements OnnxEmitter {
  private counter = 0
  constructor(private readonly builder: OnnxGraphBuilder) {}

  floats(name: string, dims: number[], data: Float32Array): string {
    return this.builder.initializer(this.free(name), Float32Array.from(data), dims)
  }

  ints(name: string, dims: number[], data: number[]): string {
    return this.builder.initializer(this.free(name), toInt64Array(data), dims)
  }

  node(opType: string, inputs: string[], attrs: Attributes = {}): string {
    return this.builder.node(opType, inputs, attrs)
  }

  unique(prefix: string): string {
    return this.free(`${prefix}_${this.counter++}`)
  }

  private free(name: string): string {
    let candidate = name
    for (let n = 1; this.builder.has(candidate); n++) candidate = `${name}_${n}`
    return candidate
  }
}

/**
 * Writes a zoo detector as an ONNX model: input `info.input.name` (float32, NCHW, normalised per the
 * input config, batch dimension `N`), output `logits` [N, labels.length]. Weights are the current values.
 */
export function exportDetectorToOnnx(detector: Detector, metadata: Record<string, string> = {}): Uint8Array {
  const { input, labels, name } = detector.info
  const builder = new OnnxGraphBuilder({
    opset: EXPORT_OPSET,
    graphName: name,
    producerName: 'genimage-train',
    metadata: { labels: JSON.stringify(labels), architecture: detector.info.architecture, ...metadata },
  })
  const image = builder.input(input.name, 'float32', ['N', 3, input.height, input.width])
  const logits = detector.exportOnnx(new BuilderEmitter(builder), image)
  builder.output(logits, 'float32', ['N', labels.length], { as: 'logits' })
  return builder.toBytes()
}
