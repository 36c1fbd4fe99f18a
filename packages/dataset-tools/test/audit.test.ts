import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import { audit } from '../src/audit.ts'
import { noisePixels, temporaryFolder, writeAt } from './fixtures.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

/** Each image's content exists twice: `ai` holds it as PNG, `nature` as a JPEG at quality 96 — only the format differs. */
async function sameContentTree(): Promise<string> {
  const made = await temporaryFolder('audit')
  cleanups.push(made.cleanup)
  let seed = 1
  for (const split of ['train', 'val']) {
    for (let i = 0; i < 6; i++) {
      const content = sharp(noisePixels(48, 48, seed++), { raw: { width: 48, height: 48, channels: 3 } })
      await writeAt(join(made.path, 'ADM', split, 'ai', `${i}.png`), await content.clone().png().toBuffer())
      await writeAt(join(made.path, 'ADM', split, 'nature', `${i}.JPEG`), await content.clone().jpeg({ quality: 96 }).toBuffer())
    }
  }
  return made.path
}

describe('audit', () => {
  it('flags format when ai is PNG and nature is JPEG of the same content, and the metadata baseline is perfect', async () => {
    const root = await sameContentTree()
    const report = await audit(root)
    const adm = report.generators.find((g) => g.generator === 'ADM')!
    expect(adm.classes.ai).toMatchObject({ images: 12, formats: { png: 12 }, topSizes: { '48x48': 12 } })
    expect(adm.classes.nature).toMatchObject({ images: 12, formats: { jpeg: 12 }, jpegQualities: { '96': 12 } })
    expect(adm.flags.map((flag) => flag.feature)).toContain('format')
    expect(adm.flags.find((flag) => flag.feature === 'format')!.separation).toBe(1)
    expect(adm.flags.map((flag) => flag.feature)).not.toContain('width')
    expect(adm.rules.find((rule) => rule.feature === 'format')!.valAccuracy).toBe(1)
    expect(adm.rules.find((rule) => rule.feature === 'width')!.valAccuracy).toBe(0.5)
    expect(adm.baseline.valAccuracy).toBe(1)

    const table = await readFile(report.files.table, 'utf8')
    expect(table).toMatch(/\*\*ADM: format\*\* separates the classes \(TV 1\.00\)/)
    // The format cue comes with what to do about it: a JPEG-aligned copy, or --debias on experiments.
    expect(table).toContain('## What to do about the encoding cue')
    expect(table).toContain(`\`npx genimage dataset debias ${root} ${root}-debiased\``)
    expect(table).toMatch(/`--debias` on `npx genimage experiment run`/)
    const svg = await readFile(report.files.svg, 'utf8')
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg).toContain('format: 100.0%')
  })

  it('sees no separation when both classes share format, size and quality', async () => {
    const made = await temporaryFolder('audit-even')
    cleanups.push(made.cleanup)
    let seed = 100
    for (const split of ['train', 'val']) {
      for (const label of ['ai', 'nature']) {
        for (let i = 0; i < 6; i++) {
          const jpeg = await sharp(noisePixels(40, 40, seed++), { raw: { width: 40, height: 40, channels: 3 } })
            .jpeg({ quality: 96 })
            .toBuffer()
          await writeAt(join(made.path, 'VQDM', split, label, `${i}.jpg`), jpeg)
        }
      }
    }
    const report = await audit(made.path)
    const vqdm = report.generators[0]!
    expect(vqdm.flags.filter((flag) => flag.feature !== 'bytes')).toEqual([])
    expect(vqdm.rules.find((rule) => rule.feature === 'format')!.valAccuracy).toBe(0.5)
    expect(await readFile(report.files.table, 'utf8')).not.toContain('--debias')
  })
})
