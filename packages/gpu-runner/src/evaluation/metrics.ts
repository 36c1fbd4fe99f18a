import { SeededRandom } from '@genimage/training/zoo'

/** One scored test image: `score` is the probability of `ai`, `fake` is the ground truth. */
export interface ScoredImage {
  score: number
  fake: boolean
}

/** Binary detection metrics of one test set; accuracies in [0, 1]. */
export interface DetectionMetrics {
  /** Accuracy with `ai` predicted at score ≥ threshold (0.5). */
  accuracy: number
  realAccuracy: number
  fakeAccuracy: number
  averagePrecision: number
  rocAuc: number
  count: number
  realCount: number
  fakeCount: number
  /** 95% percentile-bootstrap interval for accuracy. */
  accuracyCi: [number, number]
}

export interface MetricOptions {
  threshold?: number
  /** Bootstrap resamples (default 1000). */
  resamples?: number
  /** Seed of the bootstrap, so a report is reproducible (default 0). */
  seed?: number
}

/**
 * Average precision as the step-wise area under the precision-recall curve:
 * AP = Σₙ (Rₙ − Rₙ₋₁) · Pₙ over distinct score thresholds, highest first (tied scores form one step).
 * NaN when there is no positive (fake) image.
 */
export function averagePrecision(images: readonly ScoredImage[]): number {
  const positives = images.filter((i) => i.fake).length
  if (positives === 0) return Number.NaN
  const sorted = [...images].sort((a, b) => b.score - a.score)
  let truePositives = 0
  let seen = 0
  let previousRecall = 0
  let ap = 0
  for (let i = 0; i < sorted.length; i++) {
    truePositives += sorted[i]!.fake ? 1 : 0
    seen++
    if (i + 1 < sorted.length && sorted[i + 1]!.score === sorted[i]!.score) continue
    const recall = truePositives / positives
    ap += (recall - previousRecall) * (truePositives / seen)
    previousRecall = recall
  }
  return ap
}

/**
 * ROC-AUC as the probability that a random fake image scores above a random real one (ties count one half),
 * computed from ranks. NaN when either class is missing.
 */
export function rocAuc(images: readonly ScoredImage[]): number {
  const fakes = images.filter((i) => i.fake).length
  const reals = images.length - fakes
  if (fakes === 0 || reals === 0) return Number.NaN
  const sorted = [...images].sort((a, b) => a.score - b.score)
  let fakeRankSum = 0
  for (let start = 0; start < sorted.length; ) {
    let end = start
    while (end + 1 < sorted.length && sorted[end + 1]!.score === sorted[start]!.score) end++
    const averageRank = (start + end) / 2 + 1
    for (let i = start; i <= end; i++) if (sorted[i]!.fake) fakeRankSum += averageRank
    start = end + 1
  }
  return (fakeRankSum - (fakes * (fakes + 1)) / 2) / (fakes * reals)
}

/** Percentile bootstrap of the mean of 0/1 outcomes: resample with replacement, take the 2.5% and 97.5% points. */
export function bootstrapAccuracyInterval(correct: readonly boolean[], resamples = 1000, seed = 0): [number, number] {
  const n = correct.length
  if (n === 0) return [Number.NaN, Number.NaN]
  const random = new SeededRandom(seed)
  const means = new Float64Array(resamples)
  for (let r = 0; r < resamples; r++) {
    let hits = 0
    for (let i = 0; i < n; i++) hits += correct[random.int(n)] ? 1 : 0
    means[r] = hits / n
  }
  means.sort()
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))]!
  return [at(0.025), at(0.975)]
}

/** All metrics of one test set. Class accuracies of an absent class are NaN. */
export function detectionMetrics(images: readonly ScoredImage[], options: MetricOptions = {}): DetectionMetrics {
  const threshold = options.threshold ?? 0.5
  const correct = images.map((i) => i.score >= threshold === i.fake)
  const rate = (pick: (i: ScoredImage) => boolean) => {
    let hits = 0
    let total = 0
    images.forEach((image, k) => {
      if (!pick(image)) return
      total++
      hits += correct[k] ? 1 : 0
    })
    return { value: total ? hits / total : Number.NaN, total }
  }
  const all = rate(() => true)
  const real = rate((i) => !i.fake)
  const fake = rate((i) => i.fake)
  return {
    accuracy: all.value,
    realAccuracy: real.value,
    fakeAccuracy: fake.value,
    averagePrecision: averagePrecision(images),
    rocAuc: rocAuc(images),
    count: all.total,
    realCount: real.total,
    fakeCount: fake.total,
    accuracyCi: bootstrapAccuracyInterval(correct, options.resamples ?? 1000, options.seed ?? 0),
  }
}
