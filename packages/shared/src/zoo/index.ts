import { IMAGENET_MEAN, IMAGENET_STD, type InputConfig, type ModelTask } from '../contracts/model-card.ts'
import { PAPER_TABLE3 } from '../genimage/paper-numbers.ts'

/** Architectures of the zoo. `tiny` variants keep CI fast; the full variants follow the papers. */
export const ARCHITECTURES = ['resnet50', 'deit-s', 'swin-t', 'cnnspot', 'spec', 'f3net', 'gramnet', 'npr', 'univfd-probe'] as const
export type Architecture = (typeof ARCHITECTURES)[number]

export const VARIANTS = ['full', 'tiny'] as const
export type Variant = (typeof VARIANTS)[number]

/** Model-specific training augmentation named by the zoo; the training engine implements each. */
export type TrainingAugmentation = 'blur-jpeg'

/** Facts about an architecture that come from its paper; numbers are as published, not measured here. */
export interface PaperFacts {
  title: string
  reference: string
  /** Average accuracy (%) on GenImage's Table 3 protocol (train on SD V1.4, test on all 8), as published. */
  genimageTable3Average?: number
  /** Where the Table 3 average comes from, when not from GenImage's own paper. */
  table3Source?: string
  parameters?: string
}

export interface ZooEntry {
  architecture: Architecture
  displayName: string
  description: string
  paper: PaperFacts
  /** Input config per variant; `name` is the ONNX input name of exported models. */
  input: Record<Variant, InputConfig>
  /** Augmentations applied during training beyond random crop and flip. */
  augmentations: TrainingAugmentation[]
  /** True when the backbone is frozen and only the head trains. */
  frozenBackbone: boolean
  defaultOptimizer: { kind: 'sgd' | 'adamw'; learningRate: number; weightDecay: number }
}

const imagenet = (size: number, resize: InputConfig['resize'], cropPct = 1): InputConfig => ({
  name: 'image',
  layout: 'NCHW',
  height: size,
  width: size,
  resize,
  cropPct,
  interpolation: 'bilinear',
  channelOrder: 'RGB',
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
})

const unitRange = (size: number): InputConfig => ({ ...imagenet(size, 'stretch'), mean: [0, 0, 0], std: [1, 1, 1] })

/** Paper facts of an architecture GenImage evaluated: its Table 3 average is read from the paper's table. */
const genimage = (architecture: Architecture, title: string, reference: string): PaperFacts => ({
  title,
  reference,
  genimageTable3Average: PAPER_TABLE3.rows[architecture]!.average,
  table3Source: 'GenImage (Zhu et al., NeurIPS 2023, arXiv 2306.08571), Table 3',
})

const sgd = { kind: 'sgd' as const, learningRate: 0.01, weightDecay: 1e-4 }
const adamw = { kind: 'adamw' as const, learningRate: 1e-3, weightDecay: 0.05 }

const ENTRIES: ZooEntry[] = [
  {
    architecture: 'resnet50',
    displayName: 'ResNet-50',
    description: 'Bottleneck ResNet-50 (3-4-6-3) trained as a real/generated classifier.',
    paper: { ...genimage('resnet50', 'Deep Residual Learning for Image Recognition', 'He et al., CVPR 2016'), parameters: '25.6M' },
    input: { full: imagenet(224, 'shorter-side-center-crop', 0.875), tiny: imagenet(32, 'shorter-side-center-crop', 0.875) },
    augmentations: [],
    frozenBackbone: false,
    defaultOptimizer: sgd,
  },
  {
    architecture: 'deit-s',
    displayName: 'DeiT-S',
    description: 'Data-efficient image transformer, small: patch 16, width 384, depth 12, 6 heads.',
    paper: {
      ...genimage('deit-s', 'Training data-efficient image transformers & distillation through attention', 'Touvron et al., ICML 2021'),
      parameters: '22M',
    },
    input: { full: imagenet(224, 'shorter-side-center-crop', 0.875), tiny: imagenet(32, 'shorter-side-center-crop', 0.875) },
    augmentations: [],
    frozenBackbone: false,
    defaultOptimizer: adamw,
  },
  {
    architecture: 'swin-t',
    displayName: 'Swin-T',
    description: 'Shifted-window transformer, tiny: patch 4, window 7, depths 2-2-6-2, width 96.',
    paper: { ...genimage('swin-t', 'Swin Transformer: Hierarchical Vision Transformer using Shifted Windows', 'Liu et al., ICCV 2021'), parameters: '28M' },
    input: { full: imagenet(224, 'shorter-side-center-crop', 0.875), tiny: imagenet(32, 'shorter-side-center-crop', 0.875) },
    augmentations: [],
    frozenBackbone: false,
    defaultOptimizer: adamw,
  },
  {
    architecture: 'cnnspot',
    displayName: 'CNNSpot',
    description: 'ResNet-50 trained with Gaussian blur and JPEG re-compression augmentation.',
    paper: genimage('cnnspot', 'CNN-generated images are surprisingly easy to spot... for now', 'Wang et al., CVPR 2020'),
    input: { full: imagenet(224, 'center-crop'), tiny: imagenet(32, 'center-crop') },
    augmentations: ['blur-jpeg'],
    frozenBackbone: false,
    defaultOptimizer: sgd,
  },
  {
    architecture: 'spec',
    displayName: 'Spec',
    description:
      'ResNet-50 on the centred log-magnitude 2-D DFT of each colour channel, computed inside the graph (the paper used a smaller CNN on the spectrum).',
    paper: genimage('spec', 'Detecting and Simulating Artifacts in GAN Fake Images', 'Zhang et al., WIFS 2019'),
    input: { full: imagenet(224, 'center-crop'), tiny: imagenet(32, 'center-crop') },
    augmentations: [],
    frozenBackbone: false,
    defaultOptimizer: sgd,
  },
  {
    architecture: 'f3net',
    displayName: 'F3Net',
    description:
      "F3Net's frequency-aware decomposition (DCT, low/mid/high/all band filters, fixed + learnable, inverse DCT) as one ResNet-50 branch beside an RGB ResNet-50 branch, fused late. The paper's LFS branch, MixBlock and Xception backbones are not reproduced.",
    paper: genimage('f3net', 'Thinking in Frequency: Face Forgery Detection by Mining Frequency-aware Clues', 'Qian et al., ECCV 2020'),
    input: { full: imagenet(224, 'center-crop'), tiny: imagenet(32, 'center-crop') },
    augmentations: [],
    frozenBackbone: false,
    defaultOptimizer: sgd,
  },
  {
    architecture: 'gramnet',
    displayName: 'GramNet',
    description: 'ResNet-18 with Gram-matrix texture blocks on the input, the stem and each stage, all pooled into the head.',
    paper: genimage('gramnet', 'Global Texture Enhancement for Fake Face Detection in the Wild', 'Liu et al., CVPR 2020'),
    input: { full: imagenet(224, 'center-crop'), tiny: imagenet(32, 'center-crop') },
    augmentations: [],
    frozenBackbone: false,
    defaultOptimizer: sgd,
  },
  {
    architecture: 'npr',
    displayName: 'NPR',
    description: 'Neighbouring-pixel relationships: the residual x − up(down(x)) (nearest, factor 2) into a truncated ResNet-50 (layer1 + layer2).',
    paper: {
      title: 'Rethinking the Up-Sampling Operations in CNN-based Generative Network for Generalizable Deepfake Detection',
      reference: 'Tan et al., CVPR 2024',
      genimageTable3Average: 90.1,
      table3Source: 'reported for NPR (Tan et al., CVPR 2024) on the GenImage SD V1.4 protocol by later work; not in the GenImage paper',
      parameters: '1.44M',
    },
    input: { full: imagenet(224, 'center-crop'), tiny: imagenet(64, 'center-crop') },
    augmentations: [],
    frozenBackbone: false,
    defaultOptimizer: { kind: 'adamw', learningRate: 2e-3, weightDecay: 1e-4 },
  },
  {
    architecture: 'univfd-probe',
    displayName: 'UnivFD-style probe',
    description:
      'Linear head on frozen features of the MobileNetV2 bundled with nsfwjs (UnivFD uses frozen CLIP ViT-L/14; this is the same recipe on a small backbone).',
    paper: {
      title: 'Towards Universal Fake Image Detectors that Generalize Across Generative Models',
      reference: 'Ojha et al., CVPR 2023',
      genimageTable3Average: 79.5,
      table3Source: 'reported for UnivFD (frozen CLIP + linear) on the GenImage SD V1.4 protocol by later work',
    },
    input: { full: unitRange(224), tiny: unitRange(64) },
    augmentations: [],
    frozenBackbone: true,
    defaultOptimizer: { kind: 'adamw', learningRate: 1e-2, weightDecay: 0 },
  },
]

const BY_ARCHITECTURE = new Map<string, ZooEntry>(ENTRIES.map((entry) => [entry.architecture, entry]))

/** All zoo entries, in a stable order. */
export function listZooEntries(): readonly ZooEntry[] {
  return ENTRIES
}

/** Every accepted model name: `<architecture>` (full) and `<architecture>-tiny`. */
export function listZooModelNames(): string[] {
  return ENTRIES.flatMap((entry) => [entry.architecture, `${entry.architecture}-tiny`])
}

export class UnknownModelError extends Error {
  readonly code = 'model_not_found'
  constructor(readonly modelName: string) {
    super(`unknown model "${modelName}"; known models: ${listZooModelNames().join(', ')}`)
    this.name = 'UnknownModelError'
  }
}

export interface ZooModelRef {
  entry: ZooEntry
  variant: Variant
  input: InputConfig
  /** Canonical name, e.g. `npr-tiny`. */
  name: string
}

/** Resolves `npr`, `npr-tiny`, `resnet50` …; throws UnknownModelError listing the known names. */
export function resolveZooModel(name: string): ZooModelRef {
  const normalised = name.trim().toLowerCase()
  const tiny = normalised.endsWith('-tiny')
  const architecture = tiny ? normalised.slice(0, -'-tiny'.length) : normalised
  const entry = BY_ARCHITECTURE.get(architecture)
  if (!entry) throw new UnknownModelError(name)
  const variant: Variant = tiny ? 'tiny' : 'full'
  return { entry, variant, input: entry.input[variant], name: tiny ? `${architecture}-tiny` : architecture }
}

/** Labels of a detector head: binary is ['nature', 'ai']; attribution is 'nature' plus one label per generator. */
export function headLabels(task: ModelTask, generators: readonly string[] = []): string[] {
  if (task === 'binary') return ['nature', 'ai']
  if (generators.length === 0) throw new Error('an attribution head needs at least one generator')
  const unique = new Set(generators)
  if (unique.size !== generators.length || unique.has('nature')) {
    throw new Error(`attribution generators must be distinct and must not be "nature": ${generators.join(', ')}`)
  }
  return ['nature', ...generators]
}
