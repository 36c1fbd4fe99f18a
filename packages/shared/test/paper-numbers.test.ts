import { describe, expect, it } from 'vitest'
import {
  PAPER_TABLE3,
  PAPER_TABLE4,
  PAPER_TABLE5,
  paperTable5Column,
  publishedPaperRow,
  publishedTable3Average,
  TABLE5_DEGRADATIONS,
  type PublishedTable,
} from '../src/genimage/index.ts'
import { GENERATOR_NAMES as GENIMAGE_GENERATORS } from '../src/genimage/index.ts'
import { listZooEntries } from '../src/zoo/index.ts'

const GENIMAGE_BASELINES = ['resnet50', 'deit-s', 'swin-t', 'cnnspot', 'spec', 'f3net', 'gramnet']

/**
 * Every published cell and average is rounded to 0.1, so the mean of the printed cells can differ from the
 * printed average by at most 0.05 (cell rounding) + 0.05 (average rounding).
 */
const ROUNDING_TOLERANCE = 0.1 + 1e-9

function meanGaps(table: PublishedTable<string>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(table.rows).map(([architecture, row]) => {
      const values = table.columns.map((c) => row!.cells[c]!)
      return [architecture, Math.abs(values.reduce((a, b) => a + b, 0) / values.length - row!.average)]
    }),
  )
}

describe('GenImage published tables', () => {
  it.each([
    ['Table 3', PAPER_TABLE3],
    ['Table 4', PAPER_TABLE4],
    ['Table 5', PAPER_TABLE5],
  ])("%s: all seven baselines, every column, and each row's cells average to its published average", (_name, table) => {
    expect(Object.keys(table.rows).sort()).toEqual([...GENIMAGE_BASELINES].sort())
    for (const row of Object.values(table.rows)) {
      expect(Object.keys(row!.cells)).toEqual([...table.columns])
      for (const value of Object.values(row!.cells)) expect(value).toBeGreaterThanOrEqual(0)
    }
    const gaps = meanGaps(table)
    for (const [architecture, gap] of Object.entries(gaps)) expect({ architecture, gap: gap <= ROUNDING_TOLERANCE }).toEqual({ architecture, gap: true })
  })

  it("uses the paper's generator and degradation columns in the paper's order", () => {
    expect(PAPER_TABLE3.columns).toEqual(GENIMAGE_GENERATORS)
    expect(PAPER_TABLE4.columns).toEqual(GENIMAGE_GENERATORS)
    expect(PAPER_TABLE5.columns).toEqual(TABLE5_DEGRADATIONS.filter((d) => d !== 'none'))
  })

  it("Table 3 agrees with the averages on the zoo's model cards", () => {
    for (const entry of listZooEntries()) {
      const published = PAPER_TABLE3.rows[entry.architecture]
      if (published)
        expect({ architecture: entry.architecture, average: published.average }).toEqual({
          architecture: entry.architecture,
          average: entry.paper.genimageTable3Average,
        })
    }
  })

  it('carries specific published cells (spot checks against the source)', () => {
    expect(PAPER_TABLE3.rows.resnet50?.cells.GLIDE).toBe(61.9)
    expect(PAPER_TABLE3.rows.cnnspot?.cells.GLIDE).toBe(39.8)
    expect(PAPER_TABLE3.rows['swin-t']?.cells.Midjourney).toBe(62.1)
    expect(PAPER_TABLE4.rows.f3net?.cells.ADM).toBe(66.5)
    expect(PAPER_TABLE4.rows['swin-t']?.average).toBe(70.3)
    expect(PAPER_TABLE5.rows.gramnet?.cells['downscale-64']).toBe(94.9)
    expect(PAPER_TABLE5.rows.cnnspot?.cells['jpeg-30']).toBe(97.3)
    expect(PAPER_TABLE5.rows.spec?.average).toBe(50.1)
  })
})

describe('published rows for zoo models', () => {
  it('looks rows up by architecture, tiny variants included', () => {
    const row = publishedPaperRow('table3', 'resnet50-tiny')
    expect(row).toMatchObject({ table: 'table3', architecture: 'resnet50', displayName: 'ResNet-50', average: 72.1 })
    expect(row?.cells.BigGAN).toBe(52.0)
    expect(row?.source).toMatch(/GenImage-Dataset\/GenImage/)
    expect(publishedPaperRow('table4', 'DEIT-S')?.cells.Wukong).toBe(73.1)
    expect(publishedPaperRow('table5', 'f3net-tiny')?.cells['jpeg-65']).toBe(89.0)
  })

  it('NPR and UnivFD: Table 3 average only, from the model card; nothing for Tables 4 and 5', () => {
    const npr = publishedPaperRow('table3', 'npr-tiny')
    expect(npr).toMatchObject({ architecture: 'npr', average: 90.1, cells: {} })
    expect(npr?.source).toBe(publishedTable3Average('npr')?.source)
    expect(publishedPaperRow('table3', 'univfd-probe')?.average).toBe(79.5)
    expect(publishedPaperRow('table4', 'npr')).toBeUndefined()
    expect(publishedPaperRow('table5', 'univfd-probe-tiny')).toBeUndefined()
    expect(publishedPaperRow('table3', 'alexnet')).toBeUndefined()
  })

  it('maps degradation ids onto Table 5 columns', () => {
    expect(paperTable5Column('jpeg-65')).toBe('jpeg-65')
    expect(paperTable5Column('blur-3.0')).toBe('blur-3')
    expect(paperTable5Column('downscale-64')).toBe('downscale-64')
    expect(paperTable5Column('none')).toBeUndefined()
    expect(paperTable5Column('blur-1.5')).toBeUndefined()
    expect(paperTable5Column('downscale-128')).toBeUndefined()
  })
})
