import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { OnnxGraphBuilder } from '@genimage/shared/onnx'
import * as ort from 'onnxruntime-node'

interface KerasLayer {
  class_name: string
  name: string
  config: {
    kernel_size?: number[]
    strides?: number[]
    padding?: string
    activation?: string
    axis?: number
    size?: number[]
    interpolation?: string
    use_bias?: boolean
  }
  inbound_nodes: Array<Array<[string, number, number, object]>>
}

interface KerasModelJson {
  modelTopology: {
    model_config: { config: { layers: KerasLayer[]; input_layers: Array<[string, number, number]>; output_layers: Array<[string, number, number]> } }
  }
  weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[]; dtype: string; quantization?: unknown }> }>
}

/**
 * The ONNX graph of a Keras functional model made of the layers UpscalerJS's RDN super-resolvers use (Conv2D with
 * `same` padding and stride 1, ReLU activations, Concatenate and Add over channels, nearest UpSampling2D), with its
 * weights as initializers. Input `image` float32 NHWC [N, h, w, 3] and output `sr` NHWC, pixel values in [0, 255]
 * as the Keras model takes and returns them; inside, feature maps are NCHW.
 * @throws Error naming a layer or option outside that set (the converter refuses what it cannot reproduce).
 */
export async function rdnOnnxFromKeras(modelJsonPath: string): Promise<Uint8Array> {
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as KerasModelJson
  const weights = await readWeights(json, path.dirname(modelJsonPath))
  const { layers, input_layers, output_layers } = json.modelTopology.model_config.config
  const b = new OnnxGraphBuilder({ docString: `RDN super-resolution converted from ${path.basename(path.dirname(path.dirname(modelJsonPath)))}` })
  const values = new Map<string, string>()
  const input = b.input('image', 'float32', ['N', 'H', 'W', 3])
  values.set(input_layers[0]![0], b.node('Transpose', [input], { perm: [0, 3, 1, 2] }))
  const inboundOf = (layer: KerasLayer) => (layer.inbound_nodes[0] ?? []).map(([name]) => values.get(name) ?? fail(layer, `unknown input ${name}`))
  for (const layer of layers) {
    if (layer.class_name === 'InputLayer') continue
    const inputs = inboundOf(layer)
    const c = layer.config
    let out: string
    if (layer.class_name === 'Conv2D') {
      const [kh, kw] = c.kernel_size ?? []
      const pointwise = kh === 1 && kw === 1
      if ((c.padding !== 'same' && !pointwise) || c.strides?.some((s) => s !== 1) || kh! % 2 !== 1 || kw! % 2 !== 1) {
        fail(layer, 'only odd kernels, stride 1, same padding')
      }
      if (c.activation !== 'linear' || c.use_bias === false) fail(layer, 'only linear convolutions with a bias')
      const kernel = weights.get(`${layer.name}/kernel`) ?? fail(layer, 'no kernel')
      const bias = weights.get(`${layer.name}/bias`) ?? fail(layer, 'no bias')
      const w = b.initializer(`${layer.name}.w`, hwioToOihw(kernel.data, kernel.shape), [kernel.shape[3]!, kernel.shape[2]!, kh!, kw!])
      const bb = b.initializer(`${layer.name}.b`, bias.data, bias.shape)
      const ph = (kh! - 1) / 2
      const pw = (kw! - 1) / 2
      out = b.node('Conv', [inputs[0]!, w, bb], { kernel_shape: [kh!, kw!], pads: [ph, pw, ph, pw] })
    } else if (layer.class_name === 'Activation') {
      if (c.activation !== 'relu') fail(layer, `activation ${c.activation}`)
      out = b.node('Relu', inputs)
    } else if (layer.class_name === 'Concatenate') {
      if (c.axis !== 3 && c.axis !== -1) fail(layer, `axis ${c.axis}`)
      out = b.node('Concat', inputs, { axis: 1 })
    } else if (layer.class_name === 'Add') {
      out = inputs.slice(1).reduce((sum, x) => b.node('Add', [sum, x]), inputs[0]!)
    } else if (layer.class_name === 'UpSampling2D') {
      if (c.interpolation !== 'nearest') fail(layer, `interpolation ${c.interpolation}`)
      const [sh, sw] = c.size ?? []
      const scales = b.constFloat([1, 1, sh!, sw!])
      out = b.node('Resize', [inputs[0]!, '', scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' })
    } else {
      fail(layer, 'unsupported layer')
    }
    values.set(layer.name, out)
  }
  const last = values.get(output_layers[0]![0])!
  b.output(b.node('Transpose', [last], { perm: [0, 2, 3, 1] }, { output: 'sr' }), 'float32', ['N', 'H2', 'W2', 3])
  return b.toBytes()
}

/** An onnxruntime session over `rdnOnnxFromKeras`'s graph; `threads` sizes its intra-op pool. */
export async function createRdnSession(modelJsonPath: string, threads: number): Promise<ort.InferenceSession> {
  const bytes = await rdnOnnxFromKeras(modelJsonPath)
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  })
}

/** Runs an RDN session on NHWC float pixels [n, h, w, 3] and returns the [n, 2h, 2w, 3] output's values. */
export async function runRdnSession(session: ort.InferenceSession, pixels: Float32Array, n: number, h: number, w: number): Promise<Float32Array> {
  const result = await session.run({ image: new ort.Tensor('float32', pixels, [n, h, w, 3]) })
  const sr = result.sr!
  const data = sr.data as Float32Array
  sr.dispose()
  return data
}

function hwioToOihw(data: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(data.length)
  for (let y = 0; y < kh!; y++) {
    for (let x = 0; x < kw!; x++) {
      for (let i = 0; i < ci!; i++) {
        for (let o = 0; o < co!; o++) out[((o * ci! + i) * kh! + y) * kw! + x] = data[((y * kw! + x) * ci! + i) * co! + o]!
      }
    }
  }
  return out
}

async function readWeights(json: KerasModelJson, dir: string): Promise<Map<string, { data: Float32Array; shape: number[] }>> {
  const map = new Map<string, { data: Float32Array; shape: number[] }>()
  for (const group of json.weightsManifest) {
    const bytes = Buffer.concat(await Promise.all(group.paths.map((p) => readFile(path.join(dir, p)))))
    let offset = 0
    for (const spec of group.weights) {
      if (spec.dtype !== 'float32' || spec.quantization != null) throw new Error(`weight ${spec.name}: only unquantized float32 weights are supported`)
      const count = spec.shape.reduce((a, d) => a * d, 1)
      const data = new Float32Array(count)
      for (let i = 0; i < count; i++) data[i] = bytes.readFloatLE(offset + 4 * i)
      offset += 4 * count
      map.set(spec.name, { data, shape: spec.shape })
    }
  }
  return map
}

function fail(layer: KerasLayer, why: string): never {
  throw new Error(`RDN to ONNX: layer ${layer.name} (${layer.class_name}): ${why}`)
}
