import * as tf from '@tensorflow/tfjs'
import { FunctionLayer, scaleLayer } from './detector.ts'
import { Linear, Sequential, type Layer } from './layers.ts'
import type { OnnxEmitter } from './onnx-emitter.ts'
import type { ParamStore } from './params.ts'
import { resnetTrunk, type ResNetTrunkSpec } from './resnet.ts'

/** Nearest down-sampling by 2 (every other pixel) then nearest up-sampling by 2, NHWC. H and W must be even. */
export function nearestDownUp(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape as [number, number, number, number]
    if (h % 2 !== 0 || w % 2 !== 0) throw new Error(`NPR needs even height and width, got ${h}×${w}`)
    const down = tf.stridedSlice(x, [0, 0, 0, 0], [n, h, w, c], [1, 2, 2, 1]) as tf.Tensor4D
    return tf.image.resizeNearestNeighbor(down, [h, w], false, false)
  })
}

/** ONNX form of nearestDownUp on NCHW: Slice with step 2, then Reshape → Expand → Reshape. */
export function exportNearestDownUp(g: OnnxEmitter, x: string, height: number, width: number): string {
  const ints = (prefix: string, values: number[]) => g.ints(g.unique(prefix), [values.length], values)
  const down = g.node('Slice', [x, ints('npr_starts', [0, 0]), ints('npr_ends', [height, width]), ints('npr_axes', [2, 3]), ints('npr_steps', [2, 2])])
  const h = height / 2
  const w = width / 2
  const split = g.node('Reshape', [down, ints('npr_split', [0, 0, h, 1, w, 1])])
  const expanded = g.node('Expand', [split, ints('npr_expand', [1, 1, 1, 2, 1, 2])])
  return g.node('Reshape', [expanded, ints('npr_merge', [0, 0, height, width])])
}

/** The NPR input: x − up(down(x)). */
export function nprResidualLayer(height: number, width: number): FunctionLayer {
  return new FunctionLayer(
    (x) => tf.sub(x, nearestDownUp(x)),
    (g, x) => g.node('Sub', [x, exportNearestDownUp(g, x, height, width)]),
  )
}

/**
 * NPR (Tan et al., CVPR 2024): the residual scaled by 2/3 into a ResNet-50 truncated after layer2
 * (3×3 stride-2 stem, max-pool, bottleneck layer1 ×3 and layer2 ×4), average pool, linear head.
 */
export function buildNpr(store: ParamStore, variant: 'full' | 'tiny', size: number, classes: number): Layer {
  const spec: ResNetTrunkSpec =
    variant === 'full'
      ? {
          inChannels: 3,
          stem: { width: 64, kernel: 3, stride: 2, maxPool: true },
          block: 'bottleneck',
          stages: [
            { blocks: 3, width: 64, stride: 1 },
            { blocks: 4, width: 128, stride: 2 },
          ],
        }
      : {
          inChannels: 3,
          stem: { width: 16, kernel: 3, stride: 2, maxPool: true },
          block: 'bottleneck',
          stages: [
            { blocks: 1, width: 8, stride: 1 },
            { blocks: 1, width: 16, stride: 2 },
          ],
        }
  const { trunk, features } = resnetTrunk(store, 'backbone', spec)
  return new Sequential([nprResidualLayer(size, size), scaleLayer(2 / 3), trunk, new Linear(store, 'head', features, classes)])
}
