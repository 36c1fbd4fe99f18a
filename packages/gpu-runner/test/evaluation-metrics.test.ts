import { describe, expect, it } from 'vitest'
import { averagePrecision, bootstrapAccuracyInterval, detectionMetrics, rocAuc, type ScoredImage } from '../src/evaluation/metrics.ts'

const images = (rows: Array<[number, 0 | 1]>): ScoredImage[] => rows.map(([score, fake]) => ({ score, fake: fake === 1 }))

// Six images, hand-scored: fakes at 0.9, 0.8, 0.4; reals at 0.7, 0.3, 0.1.
const six = images([
  [0.9, 1],
  [0.8, 1],
  [0.7, 0],
  [0.4, 1],
  [0.3, 0],
  [0.1, 0],
])

describe('detection metrics against hand-computed values', () => {
  it('accuracy at 0.5, real and fake accuracy, counts', () => {
    const m = detectionMetrics(six)
    // predicted ai: 0.9 ✓, 0.8 ✓, 0.7 ✗ (real); predicted nature: 0.4 ✗ (fake), 0.3 ✓, 0.1 ✓ → 4/6
    expect(m.accuracy).toBeCloseTo(4 / 6, 12)
    expect(m.realAccuracy).toBeCloseTo(2 / 3, 12)
    expect(m.fakeAccuracy).toBeCloseTo(2 / 3, 12)
    expect([m.count, m.realCount, m.fakeCount]).toEqual([6, 3, 3])
  })

  it('AP: precision at each recall step, 1·(1/3) + 1·(1/3) + 3/4·(1/3)', () => {
    expect(averagePrecision(six)).toBeCloseTo((1 + 1 + 0.75) / 3, 12)
  })

  it('ROC-AUC: 8 of the 9 fake/real pairs are ordered correctly', () => {
    // fake 0.4 loses to real 0.7; every other pair has the fake above the real.
    expect(rocAuc(six)).toBeCloseTo(8 / 9, 12)
  })

  it('ties: count one half in AUC and form a single step in AP', () => {
    const tied = images([
      [0.5, 1],
      [0.5, 0],
      [0.2, 0],
    ])
    expect(rocAuc(tied)).toBeCloseTo((0.5 + 1) / 2, 12)
    // one threshold step at 0.5 reaches recall 1 with precision 1/2
    expect(averagePrecision(tied)).toBeCloseTo(0.5, 12)
  })

  it('a perfect and an inverted detector', () => {
    const perfect = images([
      [0.9, 1],
      [0.6, 1],
      [0.4, 0],
      [0.1, 0],
    ])
    expect(detectionMetrics(perfect)).toMatchObject({ accuracy: 1, averagePrecision: 1, rocAuc: 1, accuracyCi: [1, 1] })
    const inverted = images([
      [0.1, 1],
      [0.4, 1],
      [0.6, 0],
      [0.9, 0],
    ])
    expect(detectionMetrics(inverted)).toMatchObject({ accuracy: 0, rocAuc: 0 })
  })

  it('a missing class gives NaN where the metric is undefined, not a made-up number', () => {
    const onlyReal = images([
      [0.2, 0],
      [0.7, 0],
    ])
    const m = detectionMetrics(onlyReal)
    expect(m.fakeAccuracy).toBeNaN()
    expect(m.rocAuc).toBeNaN()
    expect(m.averagePrecision).toBeNaN()
    expect(m.realAccuracy).toBe(0.5)
  })
})

describe('bootstrap interval for accuracy', () => {
  it('brackets the accuracy, is reproducible for a seed, and narrows with more images', () => {
    const small = Array.from({ length: 40 }, (_, i) => i % 4 !== 0) // 75% correct
    const large = Array.from({ length: 4000 }, (_, i) => i % 4 !== 0)
    const [lo, hi] = bootstrapAccuracyInterval(small, 1000, 3)
    expect(lo).toBeLessThan(0.75)
    expect(hi).toBeGreaterThan(0.75)
    expect(bootstrapAccuracyInterval(small, 1000, 3)).toEqual([lo, hi])
    // normal approximation: half-width ≈ 1.96·sqrt(p(1-p)/n) = 0.134 for n = 40, 0.0134 for n = 4000
    expect((hi - lo) / 2).toBeGreaterThan(0.09)
    expect((hi - lo) / 2).toBeLessThan(0.18)
    const [llo, lhi] = bootstrapAccuracyInterval(large, 1000, 3)
    expect((lhi - llo) / 2).toBeGreaterThan(0.009)
    expect((lhi - llo) / 2).toBeLessThan(0.018)
  })
})
