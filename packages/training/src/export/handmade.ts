import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ModelCard, squareInputConfig, type InputConfig } from '@genimage/shared'
import { OnnxGraphBuilder } from '@genimage/shared/onnx'

/**
 * The fixed map from residual energy r to the logit difference z = scale · r + offset (p(ai) = sigmoid(z)).
 * Chosen by hand, not fitted: r = 0.041 is the median r of 31 real photographs from the Debian wallpaper
 * packages (lomiri-wallpapers 16.04/20.04, mate-backgrounds nature; quartiles 0.023 and 0.054) after this card's
 * transform, and lands at p(ai) ≈ 0.5; a perfectly nearest-upsampled image (r = 0) gets p(ai) = sigmoid(2.2) ≈ 0.9.
 */
export const HANDMADE_AFFINE = { scale: -55, offset: 2.2 } as const

export interface HandmadeModelOptions {
  /** Square input size in pixels (even); 64 unless given. */
  size?: number
  name?: string
  version?: string
  /** ISO time written to the card; now unless given (pass one for byte-identical cards). */
  createdAt?: string
  /** The command recorded in the card as reproducing the folder. */
  command?: string
}

export interface HandmadeModel {
  dir: string
  onnxPath: string
  cardPath: string
  card: ModelCard
}

export const HANDMADE_LABELS = ['nature', 'ai'] as const

/** The transform the handmade model expects: shorter side to `size`, centre crop, [-1, 1] pixels. */
export function handmadeInputConfig(size: number): InputConfig {
  return squareInputConfig(size, { resize: 'shorter-side-center-crop' })
}

/**
 * The ONNX graph of the handmade statistic: r = mean |x − up(down(x))| over C, H, W (down: 2×2 average pool,
 * up: nearest ×2), z = scale · r + offset, logits = [−z/2, z/2] so that softmax gives [p(nature), p(ai)].
 * Input `image` float32 [N, 3, size, size]; output `logits` float32 [N, 2].
 */
export function buildHandmadeOnnx(size = 64, affine: { scale: number; offset: number } = HANDMADE_AFFINE): Uint8Array {
  if (!Number.isInteger(size) || size < 2 || size % 2 !== 0) {
    throw new RangeError(`handmade model size must be an even integer >= 2, got ${size}`)
  }
  const b = new OnnxGraphBuilder({ docString: 'NPR-style up-sampling residual energy with a fixed affine map; not trained.' })
  const image = b.input('image', 'float32', ['N', 3, size, size])
  const down = b.node('AveragePool', [image], { kernel_shape: [2, 2], strides: [2, 2] }, { output: 'down' })
  const up = b.node(
    'Resize',
    [down, '', b.constFloat([1, 1, 2, 2])],
    {
      mode: 'nearest',
      coordinate_transformation_mode: 'asymmetric',
      nearest_mode: 'floor',
    },
    { output: 'up' },
  )
  const residual = b.node('Abs', [b.node('Sub', [image, up])], {}, { output: 'residual' })
  const energy = b.node('Flatten', [b.reduce('ReduceMean', residual, [1, 2, 3])], { axis: 1 }, { output: 'energy' })
  const z = b.node('Add', [b.node('Mul', [energy, b.constFloat(affine.scale)]), b.constFloat(affine.offset)], {}, { output: 'z' })
  const nature = b.node('Mul', [z, b.constFloat(-0.5)])
  const ai = b.node('Mul', [z, b.constFloat(0.5)])
  b.output(b.node('Concat', [nature, ai], { axis: 1 }, { output: 'logits' }), 'float32', ['N', 2])
  return b.toBytes()
}

/**
 * Writes `<dir>/model.onnx` and `<dir>/card.json` for the handmade residual-energy model: an honest fixture
 * the runner can serve before any detector is trained. The card says it is not trained and has no measured accuracy.
 */
export async function writeHandmadeModel(dir: string, options: HandmadeModelOptions = {}): Promise<HandmadeModel> {
  const size = options.size ?? 64
  const bytes = buildHandmadeOnnx(size)
  const card = ModelCard.parse({
    name: options.name ?? 'npr-residual-handmade',
    version: options.version ?? '1',
    description:
      'A fixed, untrained statistic, not a trained detector: the nearest-neighbour up-sampling residual energy of NPR, ' +
      '|x − up(down(x))| averaged over channels and pixels (down: 2×2 average, up: nearest ×2), passed through a fixed ' +
      `affine map (z = ${HANDMADE_AFFINE.scale}·r + ${HANDMADE_AFFINE.offset}, logits [−z/2, z/2]). Images that are ` +
      'blocky on a 2-pixel grid score towards "ai", fine-grained texture and noise towards "nature". ' +
      'Its accuracy is not measured; do not use it to moderate content.',
    architecture: 'npr-residual-statistic',
    task: 'binary',
    labels: [...HANDMADE_LABELS],
    file: 'model.onnx',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    input: handmadeInputConfig(size),
    output: { name: 'logits' },
    provenance: {
      kind: 'handmade',
      createdAt: options.createdAt ?? new Date().toISOString(),
      command: options.command ?? `npx genimage models handmade --out ${dir} --size ${size}`,
      notes:
        'Weights written by hand in packages/training/src/export/handmade.ts. The affine constants put the median ' +
        'residual of 31 real photographs (Debian wallpaper packages) near p(ai) = 0.5; no labelled data was used.',
    },
    trainedOn: 'nothing: a fixed statistic written by hand, not trained on any data and not a detector of any generator',
    metrics: [],
  })
  await mkdir(dir, { recursive: true })
  const onnxPath = join(dir, card.file)
  const cardPath = join(dir, 'card.json')
  await writeFile(onnxPath, bytes)
  await writeFile(cardPath, `${JSON.stringify(card, null, 2)}\n`)
  return { dir, onnxPath, cardPath, card }
}
