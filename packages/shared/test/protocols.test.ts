import { describe, expect, it } from 'vitest'
import { ExperimentSpec, type ExperimentSpecInput } from '../src/contracts/experiments.ts'
import { isGenImageDataset, paperGeneratorName } from '../src/genimage/index.ts'
import { expandProtocol, parseDegradation, ProtocolError, publishedTable3Average } from '../src/genimage/index.ts'

const GENIMAGE_FOLDERS = ['Midjourney', 'SD_V1.4', 'SD_V1.5', 'ADM', 'GLIDE', 'Wukong', 'VQDM', 'BigGAN']
const MINI = ['RDN-slim', 'RDN-medium', 'AE-decoder', 'Bicubic']
const spec = (input: Partial<ExperimentSpecInput>) =>
  ExperimentSpec.parse({ protocol: 'table3', models: ['npr-tiny'], dataRoot: '/d', generators: GENIMAGE_FOLDERS, ...input })

function fieldOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof ProtocolError) return error.field
    throw error
  }
  throw new Error('expected a ProtocolError')
}

describe('protocol expansion', () => {
  it('table3: one run per model × seed, trained on SD V1.4, tested on all eight', () => {
    const runs = expandProtocol(spec({ models: ['npr-tiny', 'resnet50-tiny'], seeds: [0, 1] }))
    expect(runs).toHaveLength(4)
    expect(runs.map((r) => `${r.model}/${r.seed}`)).toEqual(['npr-tiny/0', 'npr-tiny/1', 'resnet50-tiny/0', 'resnet50-tiny/1'])
    expect(runs.every((r) => r.trainOn.join() === 'SD_V1.4' && r.testOn.length === 8 && r.degradations.join() === 'none')).toBe(true)
  })

  it('table4: a model per training generator, each tested on every generator', () => {
    const runs = expandProtocol(spec({ protocol: 'table4', models: ['npr-tiny', 'cnnspot-tiny'] }))
    expect(runs).toHaveLength(16)
    expect(runs.map((r) => r.trainOn[0])).toEqual(GENIMAGE_FOLDERS.flatMap((g) => [g, g]))
    expect(runs.map((r) => r.index)).toEqual([...Array(16).keys()])
  })

  it('table5: trained and tested on SD V1.4 under the six degradations plus the original', () => {
    const [run, ...rest] = expandProtocol(spec({ protocol: 'table5' }))
    expect(rest).toHaveLength(0)
    expect(run).toMatchObject({
      trainOn: ['SD_V1.4'],
      testOn: ['SD_V1.4'],
      degradations: ['none', 'downscale-112', 'downscale-64', 'jpeg-65', 'jpeg-30', 'blur-3', 'blur-5'],
    })
  })

  it('custom: chosen train set, test sets and degradations; GenImage-mini names work', () => {
    const [run] = expandProtocol(
      spec({ protocol: 'custom', generators: MINI, trainOn: ['Bicubic', 'RDN-slim'], testOn: ['AE-decoder'], degradations: ['jpeg-65', 'jpeg-65'] }),
    )
    expect(run).toMatchObject({ trainOn: ['Bicubic', 'RDN-slim'], testOn: ['AE-decoder'], degradations: ['jpeg-65'] })
  })

  it('names the field of a spec that does not fit the dataset or the zoo', () => {
    expect(fieldOf(() => expandProtocol(spec({ generators: MINI })))).toBe('trainOn')
    expect(fieldOf(() => expandProtocol(spec({ models: ['npr-tiny', 'alexnet'] })))).toBe('models.1')
    expect(fieldOf(() => expandProtocol(spec({ trainOn: ['DALL-E'] })))).toBe('trainOn')
    expect(fieldOf(() => expandProtocol(spec({ protocol: 'table4', trainOn: ['ADM'] })))).toBe('trainOn')
    expect(fieldOf(() => expandProtocol(spec({ testOn: ['ADM'] })))).toBe('testOn')
    expect(fieldOf(() => expandProtocol(spec({ protocol: 'custom', generators: MINI })))).toBe('trainOn')
    expect(fieldOf(() => expandProtocol(spec({ generators: ['SD_V1.4', 'SD_V1.4'] })))).toBe('generators')
  })

  it('rejects malformed degradations at validation', () => {
    for (const bad of ['jpeg-0', 'jpeg-101', 'blur', 'downscale-0', 'sharpen-2'])
      expect(ExperimentSpec.safeParse({ ...spec({}), degradations: [bad] }).success).toBe(false)
    expect(parseDegradation('blur-1.5')).toEqual({ kind: 'blur', sigma: 1.5 })
    expect(parseDegradation('downscale-112')).toEqual({ kind: 'downscale', size: 112 })
  })
})

describe('paper numbers', () => {
  it("maps folder spellings to the paper's generator names and recognises GenImage", () => {
    expect(paperGeneratorName('SD_V1.4')).toBe('SD V1.4')
    expect(paperGeneratorName('stable_diffusion_v_1_5')).toBe('SD V1.5')
    expect(paperGeneratorName('Stable Diffusion V1.4')).toBe('SD V1.4')
    expect(paperGeneratorName('biggan')).toBe('BigGAN')
    expect(paperGeneratorName('RDN-slim')).toBeUndefined()
    expect(isGenImageDataset(GENIMAGE_FOLDERS)).toBe(true)
    expect(isGenImageDataset(GENIMAGE_FOLDERS.slice(1))).toBe(false)
    expect(isGenImageDataset(MINI)).toBe(false)
  })

  it('carries the published Table 3 averages from the paper', () => {
    expect(publishedTable3Average('resnet50')?.average).toBe(72.1)
    expect(publishedTable3Average('cnnspot-tiny')?.average).toBe(64.2)
    expect(publishedTable3Average('npr')?.average).toBe(90.1)
    expect(publishedTable3Average('alexnet')).toBeUndefined()
  })
})
