import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { audit } from '../src/audit.ts'
import { debias } from '../src/debias.ts'
import { estimateJpegQuality } from '@genimage/imaging'
import { jpegOf, pngOf, temporaryFolders, writeAt } from './fixtures.ts'

const folder = temporaryFolders()

/** GenImage's bias in small: `ai` PNG at a fixed 64×64, `nature` JPEG q96 at varied larger sizes. */
async function biasedTree(): Promise<string> {
  const root = await folder('biased')
  let seed = 1
  for (const split of ['train', 'val']) {
    for (let i = 0; i < 5; i++) {
      await writeAt(join(root, 'BigGAN', split, 'ai', `${i}.png`), await pngOf(64, 64, seed++))
      await writeAt(join(root, 'BigGAN', split, 'nature', `${i}.JPEG`), await jpegOf(80 + 8 * i, 70 + 4 * i, seed++, 96))
    }
  }
  return root
}

describe('debias', () => {
  it('JPEG-aligns both classes at quality 96 and one size, so audit finds no format or size shortcut', async () => {
    const root = await biasedTree()
    const before = await audit(root)
    expect(before.generators[0]!.flags.map((f) => f.feature)).toEqual(expect.arrayContaining(['format', 'width', 'height', 'jpegQuality']))

    const out = await folder('debiased')
    const report = await debias(root, out, { size: 48 })
    expect(report).toMatchObject({ written: 20, failed: [] })
    for (const label of ['ai', 'nature']) {
      for (const name of await readdir(join(out, 'BigGAN', 'val', label))) {
        const bytes = await readFile(join(out, 'BigGAN', 'val', label, name))
        expect(await sharp(bytes).metadata()).toMatchObject({ format: 'jpeg', width: 48, height: 48, chromaSubsampling: '4:2:0' })
        expect(estimateJpegQuality(bytes)?.quality).toBe(96)
      }
    }
    const after = await audit(out)
    const flagged = after.generators[0]!.flags.map((f) => f.feature)
    expect(flagged).not.toContain('format')
    expect(flagged).not.toContain('width')
    expect(flagged).not.toContain('jpegQuality')
    expect(after.generators[0]!.rules.find((r) => r.feature === 'format+size+quality')!.valAccuracy).toBe(0.5)
    expect(JSON.parse(await readFile(join(out, 'debias.json'), 'utf8'))).toMatchObject({ parameters: { jpegQuality: 96, size: 48, interpolation: 'bicubic' } })
  })

  it('leaves out and lists images below --min-side', async () => {
    const root = await biasedTree()
    const report = await debias(root, await folder('min'), { size: 48, minSide: 65 })
    expect(report.skipped.map((s) => s.path)).toHaveLength(10)
    expect(report.skipped.every((s) => s.path.includes('/ai/') && /below --min-side 65/.test(s.reason))).toBe(true)
  })
})
