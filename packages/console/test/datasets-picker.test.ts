import type { DatasetSummary } from '@genimage/shared'
import { describe, expect, it } from 'vitest'
import { datasetLabel, generatorCounts, preferredDataset } from '../src/client/datasets.ts'

const generator = (name: string, train = 32, val = 16) => ({ name, train: { ai: train, nature: train }, val: { ai: val, nature: val } })
const dataset = (name: string, extra: Partial<DatasetSummary> = {}): DatasetSummary => ({
  name,
  dataRoot: `/data/${name}`,
  state: 'ready',
  kind: 'genimage-layout',
  generators: [generator('GAN-tconv'), generator('RDN-slim')],
  images: 192,
  ...extra,
})

describe('the experiment form’s dataset picker', () => {
  it('starts with the tiny GenImage-mini once it is ready, else the first ready dataset, never one still building', () => {
    const tinyBuilding = dataset('genimage-mini-tiny', { state: 'building', build: { phase: 'writing images', done: 96, total: 288, updatedAt: '' } })
    expect(preferredDataset([dataset('a-set'), dataset('genimage-mini-tiny')])?.name).toBe('genimage-mini-tiny')
    expect(preferredDataset([tinyBuilding, dataset('z-set')])?.name).toBe('z-set')
    expect(preferredDataset([tinyBuilding, dataset('empty', { generators: [] })])).toBeUndefined()
  })

  it('says what each dataset holds, that GenImage-mini is what it is, and how far a build is', () => {
    expect(datasetLabel(dataset('genimage-mini-tiny', { kind: 'genimage-mini', images: 288 }))).toBe(
      'genimage-mini-tiny — GenImage-mini, 2 generators, 288 images',
    )
    expect(datasetLabel(dataset('one', { generators: [generator('SD_V1.4')], images: 96 }))).toBe('one — 1 generator, 96 images')
    expect(datasetLabel(dataset('b', { state: 'building', build: { phase: 'writing images', done: 96, total: 288, updatedAt: '' } }))).toBe(
      'b — building (writing images 96/288), not ready yet',
    )
    expect(datasetLabel(dataset('c', { state: 'building' }))).toBe('c — building (starting), not ready yet')
    expect(generatorCounts({ name: 'x', train: { ai: 32, nature: 30 }, val: { ai: 16, nature: 16 } })).toBe('30 train + 16 val per class')
  })
})
