import * as tf from '@tensorflow/tfjs'
import { Activation, convBnAct, GlobalAvgPool, MaxPool, Sequential, type ForwardContext, type Layer } from './layers.ts'
import type { OnnxEmitter } from './onnx-emitter.ts'
import type { ParamStore } from './params.ts'

/** A residual block: relu(body(x) + shortcut(x)). */
export class ResidualBlock implements Layer {
  private readonly relu = new Activation('relu')
  constructor(
    readonly body: Layer,
    readonly shortcut: Layer | null,
  ) {}

  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const skip = this.shortcut ? this.shortcut.forward(x, ctx) : x
    return this.relu.forward(tf.add(this.body.forward(x, ctx), skip))
  }

  exportOnnx(g: OnnxEmitter, x: string): string {
    const skip = this.shortcut ? this.shortcut.exportOnnx(g, x) : x
    return g.node('Relu', [g.node('Add', [this.body.exportOnnx(g, x), skip])])
  }
}

export type BlockKind = 'basic' | 'bottleneck'

export interface ResNetStageSpec {
  blocks: number
  width: number
  stride: number
}

export const blockExpansion = (kind: BlockKind): number => (kind === 'bottleneck' ? 4 : 1)

/** torchvision-style blocks (stride on the 3×3 conv, "ResNet v1.5"). */
export function residualBlock(store: ParamStore, name: string, kind: BlockKind, inChannels: number, width: number, stride: number): ResidualBlock {
  const out = width * blockExpansion(kind)
  const body =
    kind === 'bottleneck'
      ? new Sequential([
          convBnAct(store, `${name}.a`, { inChannels, outChannels: width, kernel: 1 }),
          convBnAct(store, `${name}.b`, { inChannels: width, outChannels: width, kernel: 3, stride }),
          convBnAct(store, `${name}.c`, { inChannels: width, outChannels: out, kernel: 1 }, null),
        ])
      : new Sequential([
          convBnAct(store, `${name}.a`, { inChannels, outChannels: width, kernel: 3, stride }),
          convBnAct(store, `${name}.b`, { inChannels: width, outChannels: out, kernel: 3 }, null),
        ])
  const shortcut =
    stride !== 1 || inChannels !== out ? convBnAct(store, `${name}.down`, { inChannels, outChannels: out, kernel: 1, stride, padding: 0 }, null) : null
  return new ResidualBlock(body, shortcut)
}

export interface ResNetTrunkSpec {
  inChannels: number
  stem: { width: number; kernel: number; stride: number; maxPool: boolean }
  block: BlockKind
  stages: ResNetStageSpec[]
}

/** Stem + stages + global average pool: NHWC image → [N, features]. */
export function resnetTrunk(
  store: ParamStore,
  name: string,
  spec: ResNetTrunkSpec,
): { trunk: Sequential; features: number; stages: Sequential[]; stem: Sequential } {
  const stemLayers: Layer[] = [
    convBnAct(store, `${name}.stem`, { inChannels: spec.inChannels, outChannels: spec.stem.width, kernel: spec.stem.kernel, stride: spec.stem.stride }),
  ]
  if (spec.stem.maxPool) stemLayers.push(new MaxPool(3, 2, 1))
  const stem = new Sequential(stemLayers)
  let channels = spec.stem.width
  const stages = spec.stages.map((stage, s) => {
    const blocks: Layer[] = []
    for (let b = 0; b < stage.blocks; b++) {
      blocks.push(residualBlock(store, `${name}.layer${s + 1}.${b}`, spec.block, channels, stage.width, b === 0 ? stage.stride : 1))
      channels = stage.width * blockExpansion(spec.block)
    }
    return new Sequential(blocks)
  })
  return { trunk: new Sequential([stem, ...stages, new GlobalAvgPool()]), features: channels, stages, stem }
}

/** ResNet-50 as in He et al. (bottleneck 3-4-6-3, widths 64…512, 7×7 stem + max-pool); tiny: 1-1-1-1, widths 4…32, 3×3 stem. */
export function resnet50Spec(variant: 'full' | 'tiny', inChannels = 3): ResNetTrunkSpec {
  if (variant === 'full') {
    return {
      inChannels,
      stem: { width: 64, kernel: 7, stride: 2, maxPool: true },
      block: 'bottleneck',
      stages: [
        { blocks: 3, width: 64, stride: 1 },
        { blocks: 4, width: 128, stride: 2 },
        { blocks: 6, width: 256, stride: 2 },
        { blocks: 3, width: 512, stride: 2 },
      ],
    }
  }
  return {
    inChannels,
    stem: { width: 8, kernel: 3, stride: 1, maxPool: false },
    block: 'bottleneck',
    stages: [
      { blocks: 1, width: 4, stride: 1 },
      { blocks: 1, width: 8, stride: 2 },
      { blocks: 1, width: 16, stride: 2 },
      { blocks: 1, width: 32, stride: 2 },
    ],
  }
}
