import type { ManifestRecord } from './manifest.ts'

/** The metadata a detector could cheat with, one value per image. */
export const AUDIT_FEATURES = ['format', 'width', 'height', 'jpegQuality', 'bytes'] as const
export type AuditFeature = (typeof AUDIT_FEATURES)[number]
/** The joint rule over format, width, height and JPEG quality together. */
export const JOINT_RULE = 'format+size+quality'

type Label = 'ai' | 'nature'
type ClassCounts = { ai: number; nature: number }

/** Bytes are bucketed on a quarter-octave log scale so the histogram stays small at any dataset size. */
export function bytesBucket(bytes: number): number {
  return bytes <= 0 ? 0 : Math.round(Math.log2(bytes) * 4)
}

export function bucketLowerBytes(bucket: number): number {
  return Math.round(2 ** (bucket / 4))
}

function featureValue(record: ManifestRecord, feature: AuditFeature): string | number {
  switch (feature) {
    case 'format':
      return record.format
    case 'width':
      return record.width
    case 'height':
      return record.height
    case 'jpegQuality':
      return record.jpegQuality ?? 'none'
    case 'bytes':
      return bytesBucket(record.bytes)
  }
}

function bump(histogram: Map<string | number, ClassCounts>, value: string | number, label: Label): void {
  const counts = histogram.get(value) ?? { ai: 0, nature: 0 }
  counts[label]++
  histogram.set(value, counts)
}

/** Histograms of one generator (or all of them): per feature, per split, per value, images of each class. */
export class GeneratorAudit {
  readonly histograms = new Map<string, Map<string | number, ClassCounts>>()
  readonly totals = { train: { ai: 0, nature: 0 }, val: { ai: 0, nature: 0 } }

  constructor(readonly generator: string) {}

  add(record: ManifestRecord): void {
    const split = record.split === 'val' ? 'val' : 'train'
    const label: Label = record.label === 'ai' ? 'ai' : 'nature'
    this.totals[split][label]++
    for (const feature of AUDIT_FEATURES) bump(this.histogram(feature, split), featureValue(record, feature), label)
    const joint = `${record.format}|${record.width}x${record.height}|${record.jpegQuality ?? '-'}`
    bump(this.histogram(JOINT_RULE, split), joint, label)
  }

  histogram(feature: string, split: 'train' | 'val' | 'all'): Map<string | number, ClassCounts> {
    if (split === 'all') {
      const merged = new Map<string | number, ClassCounts>()
      for (const part of ['train', 'val'] as const) {
        for (const [value, counts] of this.histogram(feature, part)) {
          const into = merged.get(value) ?? { ai: 0, nature: 0 }
          into.ai += counts.ai
          into.nature += counts.nature
          merged.set(value, into)
        }
      }
      return merged
    }
    const key = `${feature}:${split}`
    let histogram = this.histograms.get(key)
    if (!histogram) {
      histogram = new Map()
      this.histograms.set(key, histogram)
    }
    return histogram
  }
}

/**
 * Total variation distance between the two classes' distributions of a feature (0: identical, 1: disjoint).
 * A value near 1 means the feature alone tells the classes apart.
 */
export function classSeparation(histogram: Map<string | number, ClassCounts>): number {
  let ai = 0
  let nature = 0
  for (const counts of histogram.values()) {
    ai += counts.ai
    nature += counts.nature
  }
  if (ai === 0 || nature === 0) return 0
  let distance = 0
  for (const counts of histogram.values()) distance += Math.abs(counts.ai / ai - counts.nature / nature)
  return distance / 2
}

/** A rule fitted on train metadata and scored on val: what a detector could reach without looking at pixels. */
export interface BaselineRule {
  feature: string
  kind: 'lookup' | 'threshold'
  description: string
  trainAccuracy: number
  valAccuracy: number
  /** Accuracy of always answering the larger val class. */
  chance: number
}

function count(histogram: Map<string | number, ClassCounts>): ClassCounts {
  const total = { ai: 0, nature: 0 }
  for (const counts of histogram.values()) {
    total.ai += counts.ai
    total.nature += counts.nature
  }
  return total
}

/** Fits a per-value majority lookup (unseen values get the overall majority) on train and scores it on val. */
export function fitLookup(feature: string, train: Map<string | number, ClassCounts>, val: Map<string | number, ClassCounts>): BaselineRule {
  const trainTotal = count(train)
  const fallback: Label = trainTotal.ai >= trainTotal.nature ? 'ai' : 'nature'
  const predict = (value: string | number): Label => {
    const counts = train.get(value)
    return counts ? (counts.ai >= counts.nature ? 'ai' : 'nature') : fallback
  }
  const score = (histogram: Map<string | number, ClassCounts>) => {
    const total = count(histogram)
    let correct = 0
    for (const [value, counts] of histogram) correct += counts[predict(value)]
    return total.ai + total.nature === 0 ? 0 : correct / (total.ai + total.nature)
  }
  const valTotal = count(val)
  const aiValues = [...train.keys()].filter((value) => predict(value) === 'ai').slice(0, 4)
  return {
    feature,
    kind: 'lookup',
    description: `ai when ${feature} ∈ {${aiValues.join(', ')}${train.size > 4 ? ', …' : ''}}`,
    trainAccuracy: score(train),
    valAccuracy: score(val),
    chance: Math.max(valTotal.ai, valTotal.nature) / Math.max(1, valTotal.ai + valTotal.nature),
  }
}

/** Fits the best single threshold (decision stump) on a numeric feature's train histogram and scores it on val. */
export function fitThreshold(
  feature: string,
  train: Map<string | number, ClassCounts>,
  val: Map<string | number, ClassCounts>,
  show = (v: number) => String(v),
): BaselineRule {
  const values = [...train.keys()].filter((v): v is number => typeof v === 'number').sort((a, b) => a - b)
  const total = count(train)
  const n = Math.max(1, total.ai + total.nature)
  let best = { threshold: -Infinity, aiBelow: false, correct: Math.max(total.ai, total.nature) }
  let belowAi = 0
  let belowNature = 0
  for (const value of values) {
    const counts = train.get(value)!
    belowAi += counts.ai
    belowNature += counts.nature
    const aiBelowCorrect = belowAi + (total.nature - belowNature)
    const aiAboveCorrect = belowNature + (total.ai - belowAi)
    if (aiBelowCorrect > best.correct) best = { threshold: value, aiBelow: true, correct: aiBelowCorrect }
    if (aiAboveCorrect > best.correct) best = { threshold: value, aiBelow: false, correct: aiAboveCorrect }
  }
  const predict = (value: number): Label => (value <= best.threshold === best.aiBelow ? 'ai' : 'nature')
  const valTotal = count(val)
  let valCorrect = 0
  for (const [value, counts] of val) valCorrect += counts[predict(Number(value))]
  return {
    feature,
    kind: 'threshold',
    description: Number.isFinite(best.threshold) ? `ai when ${feature} ${best.aiBelow ? '≤' : '>'} ${show(best.threshold)}` : 'no useful threshold',
    trainAccuracy: best.correct / n,
    valAccuracy: valCorrect / Math.max(1, valTotal.ai + valTotal.nature),
    chance: Math.max(valTotal.ai, valTotal.nature) / Math.max(1, valTotal.ai + valTotal.nature),
  }
}
