import { inferAttribute, type Attributes } from './attributes.ts'
import { OnnxBuildError } from './errors.ts'
import {
  encodeModel,
  type Dim,
  type NodeMessage,
  type OnnxDataType,
  type OpsetImport,
  type TensorData,
  type TensorMessage,
  type ValueInfoMessage,
} from './messages.ts'
import { tensorMessage, toInt64Array } from './tensors.ts'

export interface OnnxGraphBuilderOptions {
  /** Default-domain opset version; 17 unless given. */
  opset?: number
  graphName?: string
  producerName?: string
  producerVersion?: string
  docString?: string
  /** Written as ModelProto.metadata_props (e.g. labels, card name). */
  metadata?: Readonly<Record<string, string>>
  /** Opsets for other domains, e.g. `{ domain: 'com.microsoft', version: 1 }`. */
  extraOpsets?: readonly OpsetImport[]
}

export interface NodeOptions {
  /** Name for the output value (default: generated from the op type). */
  output?: string
  /** Name for the node itself (default: generated). */
  name?: string
  /** Operator domain; '' (the default) is standard ONNX. */
  domain?: string
}

/** The ONNX IR version that goes with a default-domain opset (from the ONNX versioning table). */
export function irVersionForOpset(opset: number): number {
  if (opset <= 8) return 3
  if (opset === 9) return 4
  if (opset === 10) return 5
  if (opset === 11) return 6
  if (opset <= 14) return 7
  if (opset <= 18) return 8
  if (opset <= 20) return 9
  if (opset <= 22) return 10
  return 11
}

/**
 * Builds an ONNX model in memory, op type by op type, and serialises it with {@link toBytes}.
 * Every value has a unique name; node outputs get generated names unless given. References to values
 * that do not exist yet fail at the call that makes them ({@link OnnxBuildError} code `unknown_value`).
 *
 * @example
 * const b = new OnnxGraphBuilder()
 * const x = b.input('image', 'float32', ['N', 3, 32, 32])
 * const w = b.initializer('conv.weight', new Float32Array(8 * 3 * 9), [8, 3, 3, 3])
 * const y = b.node('Relu', [b.node('Conv', [x, w], { pads: [1, 1, 1, 1] })])
 * b.output(b.node('GlobalAveragePool', [y], {}, { output: 'features' }), 'float32', ['N', 8, 1, 1])
 * const bytes = b.toBytes()
 */
export class OnnxGraphBuilder {
  readonly opset: number
  private readonly options: OnnxGraphBuilderOptions
  private readonly names = new Set<string>()
  private readonly counters = new Map<string, number>()
  private readonly inputs: ValueInfoMessage[] = []
  private readonly outputs: ValueInfoMessage[] = []
  private readonly initializers: TensorMessage[] = []
  private readonly nodes: NodeMessage[] = []

  constructor(options: OnnxGraphBuilderOptions = {}) {
    const opset = options.opset ?? 17
    if (!Number.isInteger(opset) || opset < 7) {
      throw new OnnxBuildError('invalid_opset', `opset must be an integer >= 7, got ${opset}`)
    }
    this.opset = opset
    this.options = options
  }

  /** Declares a graph input. Dims are sizes or symbolic names (`'N'`); returns the input's name. */
  input(name: string, dataType: OnnxDataType, dims: readonly Dim[]): string {
    this.claim(name)
    this.inputs.push({ name, dataType, dims: checkDims(name, dims) })
    return name
  }

  /** Adds a named constant tensor (weights); the element type follows the typed array. Returns the name. */
  initializer(name: string, data: TensorData, dims: readonly number[]): string {
    const tensor = tensorMessage(name, data, dims)
    this.claim(name)
    this.initializers.push(tensor)
    return name
  }

  /** Adds a constant tensor under a generated name (`hint_<n>`). */
  constant(data: TensorData, dims: readonly number[], hint = 'const'): string {
    return this.initializer(this.freshName(hint), data, dims)
  }

  /** A float32 constant: a number gives a scalar, an array a 1-D tensor unless dims say otherwise. */
  constFloat(values: number | ArrayLike<number>, dims?: readonly number[]): string {
    const data = typeof values === 'number' ? Float32Array.of(values) : Float32Array.from(values)
    return this.constant(data, dims ?? (typeof values === 'number' ? [] : [data.length]), 'const_f')
  }

  /** An int64 constant (shapes, axes, slice bounds): a number gives a scalar, an array a 1-D tensor. */
  constInt64(values: number | bigint | ArrayLike<number | bigint>, dims?: readonly number[]): string {
    const isScalar = typeof values === 'number' || typeof values === 'bigint'
    const data = toInt64Array(isScalar ? [values] : values)
    return this.constant(data, dims ?? (isScalar ? [] : [data.length]), 'const_i')
  }

  /**
   * Adds a node with one output and returns the output's name. Inputs must already exist; '' marks an
   * omitted optional input (e.g. Resize's `roi`). Attributes are typed by {@link inferAttribute}; use `attr.*`
   * to force a type.
   */
  node(opType: string, inputs: readonly string[], attributes: Attributes = {}, options: NodeOptions = {}): string {
    const [output] = this.multiNode(opType, inputs, [options.output ?? this.freshName(opType.toLowerCase())], attributes, options)
    return output!
  }

  /**
   * Adds a node with several outputs (a count for generated names, or the names) and returns their names
   * in order.
   */
  multiNode(
    opType: string,
    inputs: readonly string[],
    outputs: number | readonly string[],
    attributes: Attributes = {},
    options: Omit<NodeOptions, 'output'> = {},
  ): string[] {
    for (const input of inputs) {
      if (input !== '' && !this.names.has(input)) {
        throw new OnnxBuildError('unknown_value', `${opType}: input "${input}" is not an input, initializer or node output`)
      }
    }
    const outputNames = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.freshName(opType.toLowerCase())) : [...outputs]
    if (outputNames.length === 0) throw new OnnxBuildError('invalid_name', `${opType}: a node needs at least one output`)
    const attributeMessages = Object.entries(attributes).flatMap(([name, value]) => (value === undefined ? [] : [inferAttribute(name, value)]))
    for (const [i, name] of outputNames.entries()) {
      if (outputNames.indexOf(name) !== i || this.names.has(name)) {
        throw new OnnxBuildError('duplicate_name', `${opType}: a value named "${name}" already exists`)
      }
    }
    const nodeName = options.name ?? this.freshNodeName(opType)
    for (const name of outputNames) this.claim(name)
    this.nodes.push({
      opType,
      inputs: [...inputs],
      outputs: outputNames,
      name: nodeName,
      domain: options.domain ?? '',
      attributes: attributeMessages,
    })
    return outputNames
  }

  /**
   * A reduction over `axes` that is correct for the builder's opset: axes move from an attribute to an
   * input at opset 13 for ReduceSum and at opset 18 for the other Reduce* ops.
   */
  reduce(opType: `Reduce${string}`, x: string, axes: readonly number[], options: { keepdims?: boolean } = {}): string {
    const keepdims = options.keepdims === false ? 0 : 1
    const axesAsInput = opType === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18
    if (axesAsInput) return this.node(opType, [x, this.constInt64(axes)], { keepdims })
    return this.node(opType, [x], { axes: [...axes], keepdims })
  }

  /**
   * Declares a graph output. With `as`, an Identity node gives the value that public name.
   * Dims are optional (omitted: unknown shape).
   */
  output(value: string, dataType: OnnxDataType, dims?: readonly Dim[], options: { as?: string } = {}): string {
    if (!this.names.has(value)) throw new OnnxBuildError('unknown_value', `output "${value}" is not a value in the graph`)
    const name = options.as !== undefined && options.as !== value ? this.node('Identity', [value], {}, { output: options.as }) : value
    if (this.outputs.some((o) => o.name === name)) throw new OnnxBuildError('duplicate_name', `"${name}" is already an output`)
    this.outputs.push({ name, dataType, ...(dims ? { dims: checkDims(name, dims) } : {}) })
    return name
  }

  /** Whether a value (input, initializer or node output) of this name exists. */
  has(name: string): boolean {
    return this.names.has(name)
  }

  /** Serialises the model (ModelProto bytes, ready for `InferenceSession.create` or a `.onnx` file). */
  toBytes(): Uint8Array {
    if (this.outputs.length === 0) throw new OnnxBuildError('missing_output', 'the graph has no outputs; call output() first')
    return encodeModel({
      irVersion: irVersionForOpset(this.opset),
      opsetImports: [{ domain: '', version: this.opset }, ...(this.options.extraOpsets ?? [])],
      producerName: this.options.producerName ?? 'genimage',
      producerVersion: this.options.producerVersion ?? '0.1.0',
      docString: this.options.docString,
      graph: {
        name: this.options.graphName ?? 'main',
        nodes: this.nodes,
        initializers: this.initializers,
        inputs: this.inputs,
        outputs: this.outputs,
      },
      metadata: this.options.metadata,
    })
  }

  private claim(name: string): void {
    if (name === '') throw new OnnxBuildError('invalid_name', 'value names must not be empty')
    if (this.names.has(name)) throw new OnnxBuildError('duplicate_name', `a value named "${name}" already exists`)
    this.names.add(name)
  }

  private freshName(hint: string): string {
    let n = this.counters.get(hint) ?? 0
    let name: string
    do name = `${hint}_${n++}`
    while (this.names.has(name))
    this.counters.set(hint, n)
    return name
  }

  private freshNodeName(opType: string): string {
    const key = `node:${opType}`
    const n = this.counters.get(key) ?? 0
    this.counters.set(key, n + 1)
    return `${opType}_${n}`
  }
}

function checkDims(name: string, dims: readonly Dim[]): Dim[] {
  for (const dim of dims) {
    const ok = typeof dim === 'number' ? Number.isSafeInteger(dim) && dim >= 0 : /^[A-Za-z_][A-Za-z0-9_]*$/.test(dim)
    if (!ok) throw new OnnxBuildError('invalid_dims', `"${name}": dims must be non-negative integers or symbolic names, got ${String(dim)}`)
  }
  return [...dims]
}
