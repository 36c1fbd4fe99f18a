import * as tf from '@tensorflow/tfjs'
import { Activation, BatchNorm, Conv2d, GlobalAvgPool, Linear, Sequential, type ForwardContext, type Layer } from './layers.ts'
import type { OnnxEmitter } from './onnx-emitter.ts'
import type { ParamStore } from './params.ts'

interface WeightSpec {
  name: string
  shape: number[]
  dtype: string
  quantization?: { min?: number; scale?: number; dtype: string }
}

let weightsPromise: Promise<Map<string, Float32Array>> | undefined

/**
 * Reads the MobileNetV2 weights bundled inside the `nsfwjs` package (Keras MobileNetV2, α = 1, uint8-quantised
 * tfjs weights embedded as base64 in the package's JS modules); no network access. Decoded once per process.
 */
export function loadNsfwjsMobileNetV2Weights(): Promise<Map<string, Float32Array>> {
  weightsPromise ??= (async () => {
    const { MobileNetV2Model } = (await import('nsfwjs/models/mobilenet_v2')) as unknown as {
      MobileNetV2Model: {
        modelJson: () => Promise<{ default: { weightsManifest: Array<{ paths: string[]; weights: WeightSpec[] }> } }>
        weightBundles: Array<() => Promise<{ default: string }>>
      }
    }
    const manifest = (await MobileNetV2Model.modelJson()).default.weightsManifest
    const buffers = await Promise.all(MobileNetV2Model.weightBundles.map(async (bundle) => Buffer.from((await bundle()).default, 'base64')))
    const data = Buffer.concat(buffers)
    const specs = manifest.flatMap((group) => group.weights)
    const tensors = tf.io.decodeWeights(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), specs as tf.io.WeightsManifestEntry[])
    const out = new Map<string, Float32Array>()
    for (const [name, tensor] of Object.entries(tensors)) {
      out.set(name, Float32Array.from(tensor.dataSync() as Float32Array))
      tensor.dispose()
    }
    return out
  })()
  return weightsPromise
}

/** Keras layer names → this zoo's parameter suffixes. */
const KERAS_SUFFIX: Record<string, string> = {
  weight: 'kernel',
  bias: 'beta',
  running_mean: 'moving_mean',
  running_var: 'moving_variance',
}

function kerasName(param: string, isDepthwise: boolean, isBn: boolean): string {
  const dot = param.lastIndexOf('.')
  const layer = param.slice(0, dot)
  const suffix = param.slice(dot + 1)
  if (isBn) return `${layer}/${suffix === 'weight' ? 'gamma' : KERAS_SUFFIX[suffix]}`
  return `${layer}/${isDepthwise ? 'depthwise_kernel' : KERAS_SUFFIX[suffix]}`
}

/** Keras MobileNetV2 (α = 1) with its layer names; stride-2 depthwise convs pad (0, 1) like Keras' `correct_pad`. */
function mobileNetV2(store: ParamStore): Layer {
  const cbr = (
    name: string,
    bnName: string,
    inC: number,
    outC: number,
    opts: { kernel: number; stride?: number; depthwise?: boolean; padding?: number | [number, number, number, number] },
    act = true,
  ) => {
    const layers: Layer[] = [new Conv2d(store, name, { inChannels: inC, outChannels: outC, ...opts }), new BatchNorm(store, bnName, outC, 1e-3)]
    if (act) layers.push(new Activation('relu6'))
    return new Sequential(layers)
  }
  const layers: Layer[] = [cbr('Conv1', 'bn_Conv1', 3, 32, { kernel: 3, stride: 2, padding: [0, 1, 0, 1] })]
  layers.push(
    new Sequential([
      cbr('expanded_conv_depthwise', 'expanded_conv_depthwise_BN', 32, 32, { kernel: 3, depthwise: true }),
      cbr('expanded_conv_project', 'expanded_conv_project_BN', 32, 16, { kernel: 1 }, false),
    ]),
  )
  const stages: Array<[number, number, number]> = [
    [24, 2, 2],
    [32, 3, 2],
    [64, 4, 2],
    [96, 3, 1],
    [160, 3, 2],
    [320, 1, 1],
  ]
  let channels = 16
  let block = 1
  for (const [out, repeats, firstStride] of stages) {
    for (let r = 0; r < repeats; r++, block++) {
      const stride = r === 0 ? firstStride : 1
      const hidden = channels * 6
      const p = `block_${block}`
      const body = new Sequential([
        cbr(`${p}_expand`, `${p}_expand_BN`, channels, hidden, { kernel: 1 }),
        cbr(`${p}_depthwise`, `${p}_depthwise_BN`, hidden, hidden, { kernel: 3, stride, depthwise: true, padding: stride === 2 ? [0, 1, 0, 1] : 1 }),
        cbr(`${p}_project`, `${p}_project_BN`, hidden, out, { kernel: 1 }, false),
      ])
      layers.push(stride === 1 && channels === out ? new LinearResidual(body) : body)
      channels = out
    }
  }
  layers.push(cbr('Conv_1', 'Conv_1_bn', 320, 1280, { kernel: 1 }), new GlobalAvgPool())
  return new Sequential(layers)
}

/** x + body(x) without an activation after the sum (MobileNetV2's linear bottleneck). */
class LinearResidual implements Layer {
  constructor(readonly body: Layer) {}

  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return tf.add(x, this.body.forward(x, ctx))
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    return g.node('Add', [x, this.body.exportOnnx(g, x)])
  }
}

/** Runs a layer in inference mode whatever the pass (a frozen backbone keeps its BatchNorm statistics). */
class Frozen implements Layer {
  constructor(readonly inner: Layer) {}

  forward(x: tf.Tensor): tf.Tensor {
    return this.inner.forward(x, { training: false, updates: [] })
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    return this.inner.exportOnnx(g, x)
  }
}

/**
 * UnivFD-style probe (Ojha et al. 2023 use frozen CLIP ViT-L/14 features + a linear layer): here the frozen
 * backbone is the MobileNetV2 that nsfwjs ships, producing 1280 pooled features; only the linear head trains.
 */
export async function buildUnivFdProbe(store: ParamStore, classes: number): Promise<Layer> {
  const backbone = mobileNetV2(store)
  const weights = await loadNsfwjsMobileNetV2Weights()
  for (const [name, variable] of store.all()) {
    const layer = name.slice(0, name.lastIndexOf('.'))
    const isBn = layer.endsWith('_BN') || layer.startsWith('bn_') || layer.endsWith('_bn')
    const source = kerasName(name, layer.endsWith('_depthwise'), isBn)
    const values = weights.get(source)
    if (!values || values.length !== variable.size) throw new Error(`nsfwjs MobileNetV2 has no weight ${source} of ${variable.size} values for ${name}`)
    const tensor = tf.tensor(values, variable.shape)
    variable.assign(tensor)
    tensor.dispose()
  }
  store.freeze('')
  return new Sequential([new Frozen(backbone), new Linear(store, 'head', 1280, classes)])
}
