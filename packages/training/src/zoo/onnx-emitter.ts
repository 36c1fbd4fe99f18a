import type { Attributes } from '@genimage/shared/onnx'

/**
 * What a zoo layer needs from an ONNX graph under construction. Feature maps in the exported graph are NCHW;
 * the tfjs side computes NHWC. `export/onnx-export.ts` implements it over the shared OnnxGraphBuilder.
 */
export interface OnnxEmitter {
  /** Adds a float32 initializer and returns its graph name. */
  floats(name: string, dims: number[], data: Float32Array): string
  /** Adds an int64 initializer (shapes, axes, indices) and returns its graph name. */
  ints(name: string, dims: number[], data: number[]): string
  /** Adds a node with one output and returns the output's name. */
  node(opType: string, inputs: string[], attrs?: Attributes): string
  /** Names unique within the graph, for initializers made on the fly. */
  unique(prefix: string): string
}
