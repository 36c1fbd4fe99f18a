import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { temperatureScaledAiProbability } from '@genimage/shared'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { calibrationNll, chooseThreshold, fitTemperature, wilsonUpper95 } from '../src/evaluation/calibrate.ts'
import { evaluateModelFolder } from '../src/evaluation/evaluate-model.ts'
import { openImageScorer } from '../src/evaluation/image-scorer.ts'
import { encodePhoto, encodingFalsePositives, PHOTO_ENCODINGS } from '../src/evaluation/real-photo-fpr.ts'
import { sigmoid, writeBrightnessModel } from './brightness-model.ts'

/** A binary probability row [P(nature), P(ai)] from a logit difference. */
const row = (logit: number) => Float32Array.of(1 - sigmoid(logit), sigmoid(logit))

describe('fitting a calibration', () => {
  it('picks the lowest threshold that keeps every encoding within the target false-positive rate', () => {
    // 40 photos per encoding: at 5% each encoding may call 2 of them ai. PNG has the higher third-highest score.
    const asIs = [...Array.from({ length: 37 }, (_, i) => i / 100), 0.6, 0.7, 0.9]
    const png = [...Array.from({ length: 37 }, (_, i) => i / 100), 0.55, 0.8, 0.95]
    const generated = [0.5, 0.58, 0.62, 0.75, 0.85, 0.99]
    const choice = chooseThreshold({ 'as-is': asIs, png }, generated, 0.05)
    expect(choice.allowed).toEqual({ 'as-is': 2, png: 2 })
    expect(choice.met).toBe(true)
    // The third-highest scores are 0.6 (as-is) and 0.55 (PNG): the threshold must clear 0.6, halfway to 0.62, the next score.
    expect(choice.threshold).toBeCloseTo(0.61, 10)
    expect(choice.falsePositives).toEqual({ 'as-is': 2, png: 2 })
    for (const [encoding, scores] of Object.entries({ 'as-is': asIs, png })) {
      expect(encodingFalsePositives(encoding, scores, choice.threshold).rate).toBeLessThanOrEqual(0.05)
      // Any lower threshold at or below the bound lets a third photo through in as-is.
      expect(encodingFalsePositives(encoding, scores, 0.6).falsePositives).toBe(encoding === 'as-is' ? 3 : 2)
    }
    expect(generated.filter((s) => s >= choice.threshold)).toEqual([0.62, 0.75, 0.85, 0.99])
  })

  it('says when no threshold can meet the target: a photo that scores 1', () => {
    const choice = chooseThreshold({ 'as-is': [1, 1, 0.2] }, [1], 0.05)
    expect(choice.threshold).toBe(1)
    expect(choice.met).toBe(false)
  })

  it('fits a temperature that lowers the NLL of an over-confident model, and one below 1 for an under-confident one', () => {
    // Over-confident: |logit| 4, but one image in four is on the wrong side.
    const overconfident = Array.from({ length: 80 }, (_, i) => {
      const fake = i % 2 === 0
      const right = i % 8 >= 2
      return { row: row((fake === right ? 1 : -1) * 4), fake }
    })
    const fit = fitTemperature(overconfident, 0)
    expect(fit.temperature).toBeGreaterThan(1.5)
    expect(fit.nll).toBeLessThan(fit.nllAtOne - 0.2)
    expect(fit.nll).toBeCloseTo(calibrationNll(overconfident, 0, fit.temperature), 10)
    // Under-confident: always right, |logit| 0.5.
    const underconfident = Array.from({ length: 40 }, (_, i) => ({ row: row(i % 2 === 0 ? 0.5 : -0.5), fake: i % 2 === 0 }))
    const sharpened = fitTemperature(underconfident, 0)
    expect(sharpened.temperature).toBeLessThan(0.2)
    expect(sharpened.nll).toBeLessThan(sharpened.nllAtOne)
    // The calibrated probability is the edge's formula: the logit divided by the temperature.
    expect(temperatureScaledAiProbability(row(4), 0, 2)).toBeCloseTo(sigmoid(2), 6)
    expect(() =>
      fitTemperature(
        underconfident.filter((s) => !s.fake),
        0,
      ),
    ).toThrow(/real and generated/)
  })

  it('bounds a rate measured on 30 photos by Wilson’s 95% interval', () => {
    expect(wilsonUpper95(0, 30)).toBeCloseTo(0.1135, 3)
    expect(wilsonUpper95(1, 30)).toBeCloseTo(0.1667, 3)
    expect(wilsonUpper95(0, 0)).toBe(1)
  })
})

describe('scoring photos the runner’s way', () => {
  let dir: string
  let photo: Buffer
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'genimage-calibrate-'))
    const tiled = { resize: 'center-crop' as const, layout: 'NCHW' as const, height: 16, width: 16, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }
    const evidence = { mode: 'tiles', crop: 16, maxTiles: 16, aggregate: { rule: 'max' }, downscale: 'never' }
    await writeBrightnessModel(join(dir, 'tiles'), { name: 'tiles', input: { ...tiled, evidence } as never })
    await writeBrightnessModel(join(dir, 'crop'), { name: 'crop', input: tiled as never })
    // 64 × 48 black with a white 16 × 16 corner: the centre crop is black, one tile is white.
    const pixels = Buffer.alloc(64 * 48 * 3)
    for (let y = 0; y < 16; y++) pixels.fill(255, y * 64 * 3, (y * 64 + 16) * 3)
    photo = await sharp(pixels, { raw: { width: 64, height: 48, channels: 3 } })
      .png()
      .toBuffer()
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('reads tiles at native resolution when the card has evidence, the centre crop when it has not, in every encoding', async () => {
    const tiles = await openImageScorer(join(dir, 'tiles'))
    const crop = await openImageScorer(join(dir, 'crop'))
    try {
      for (const encoding of PHOTO_ENCODINGS) {
        const bytes = await encodePhoto(photo, encoding)
        const [byTiles] = await tiles.score([bytes])
        const [byCrop] = await crop.score([bytes])
        expect(byTiles?.[1], encoding).toBeCloseTo(sigmoid(2), 1)
        expect(byCrop?.[1], encoding).toBeCloseTo(sigmoid(-2), 1)
      }
    } finally {
      await tiles.close()
      await crop.close()
    }
    await expect(openImageScorer(join(dir, 'nowhere'))).rejects.toThrow(/no model folder/)
  })

  it('evaluates a model folder through the same path: tiles find the white corner the centre crop misses', async () => {
    const black = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#000000' } })
      .png()
      .toBuffer()
    for (const [kind, bytes] of [
      ['ai', photo],
      ['nature', black],
    ] as const) {
      await mkdir(join(dir, 'mini', 'Corner', 'val', kind), { recursive: true })
      for (const i of [0, 1]) await writeFile(join(dir, 'mini', 'Corner', 'val', kind, `${i}.png`), bytes)
    }
    const options = { dataRoot: join(dir, 'mini'), testOn: ['Corner'], degradations: ['none'], degradeReal: false, interpolation: 'bilinear' as const }
    const [byTiles] = await evaluateModelFolder(join(dir, 'tiles'), options)
    const [byCrop] = await evaluateModelFolder(join(dir, 'crop'), options)
    expect(byTiles).toMatchObject({ accuracy: 1, fakeAccuracy: 1, realAccuracy: 1, count: 4 })
    expect(byCrop).toMatchObject({ accuracy: 0.5, fakeAccuracy: 0, realAccuracy: 1 })
  })
})
