/**
 * How much work each GPU-check section does and how long it may take. The full plan fits the GPU machine's
 * 8 minutes with room to spare (each section's work is bounded by seconds as well as counts, and the orchestrator
 * kills a section at its limit); the quick plan shrinks the work for a dry run on a software adapter.
 */
import type { WorkloadKey } from './results.ts'
import type { TrainingSettings } from './webgpu-training.ts'

/** Sections in the order they run. `export` writes the ResNet-50 ONNX model the later sections read. */
export const SECTION_NAMES = ['adapter', 'export', 'inference', 'torch-inference', 'train-resnet18', 'train-resnet50', 'torch-train', 'detect'] as const
export type SectionName = (typeof SECTION_NAMES)[number]

export interface CheckPlan {
  /** Seconds for the whole run (sections that would start with less than `minSectionS` left are skipped). */
  budgetS: number
  minSectionS: number
  timeoutS: Record<SectionName, number>
  inference: { batches: number[]; warmup: number; seconds: number; minRuns: number }
  resnet18: TrainingSettings
  resnet50: TrainingSettings
  detect: { clients: number; seconds: number; minAnswers: number; maxBatch: number; queueDelayMs: number }
  /** Workloads this plan measures (the table's lines). */
  workloads: WorkloadKey[]
  /** Table labels where the quick plan measures something smaller than the label says. */
  labels: Partial<Record<WorkloadKey, string>>
  /** Arguments of torch_peer.py for a `torch-*` section, mirroring the WebGPU side's settings. */
  torchArgs(section: SectionName): string[]
}

/** The plan for a real GPU (default) or for the `--quick` dry run. */
export function checkPlan(quick: boolean): CheckPlan {
  const inference = quick ? { batches: [1], warmup: 1, seconds: 0, minRuns: 2 } : { batches: [1, 8, 32], warmup: 3, seconds: 5, minRuns: 3 }
  const training = quick ? { warmup: 1, steps: 1, seconds: 0 } : { warmup: 2, steps: 10, seconds: 15 }
  const resnet18: TrainingSettings = { model: 'resnet18', size: 128, batch: quick ? 2 : 16, ...training }
  const resnet50: TrainingSettings = { model: 'resnet50', size: 224, batch: quick ? 2 : 32, ...training, ...(quick ? {} : { seconds: 20 }) }
  const train = (s: TrainingSettings) => ['--train', `${s.model}:${s.size}:${s.batch}`]
  const timeoutS: Record<SectionName, number> = quick
    ? { adapter: 120, export: 600, inference: 1800, 'torch-inference': 600, 'train-resnet18': 1800, 'train-resnet50': 1800, 'torch-train': 600, detect: 2400 }
    : { adapter: 60, export: 90, inference: 120, 'torch-inference': 90, 'train-resnet18': 90, 'train-resnet50': 120, 'torch-train': 90, detect: 120 }
  return {
    budgetS: quick ? 4 * 3600 : 450,
    minSectionS: quick ? 0 : 20,
    timeoutS,
    inference,
    resnet18,
    resnet50,
    detect: quick
      ? { clients: 2, seconds: 0, minAnswers: 2, maxBatch: 1, queueDelayMs: 2 }
      : { clients: 64, seconds: 20, minAnswers: 1, maxBatch: 32, queueDelayMs: 5 },
    workloads: [...inference.batches.map((b) => `infer-b${b}` as WorkloadKey), 'train-resnet18', 'train-resnet50', 'detect'],
    labels: quick
      ? {
          'train-resnet18': `train step ResNet-18 128² batch ${resnet18.batch} (quick)`,
          'train-resnet50': `train step ResNet-50 224² batch ${resnet50.batch} (quick)`,
          detect: '/v1/detect ResNet-50 (2 clients, quick)',
        }
      : {},
    torchArgs(section) {
      if (section === 'torch-inference') {
        const i = inference
        return ['--inference', '--batches', i.batches.join(','), '--warmup', String(i.warmup), '--seconds', String(i.seconds), '--min-runs', String(i.minRuns)]
      }
      const t = training
      return [
        ...train(resnet18),
        ...train(resnet50),
        '--train-warmup',
        String(t.warmup),
        '--train-steps',
        String(t.steps),
        '--train-seconds',
        String(resnet50.seconds),
      ]
    },
  }
}
