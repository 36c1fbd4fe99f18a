import { symlink, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DatasetError } from '../src/errors.ts'
import { generatorForArchive } from '@genimage/shared/genimage'
import { ingest, layoutPlaceOf } from '../src/ingest.ts'
import type { Progress } from '../src/progress.ts'
import { readQuarantine } from '../src/state.ts'
import { jpegOf, pngOf, splitZip, temporaryFolders, writeAt, zipWithRawNames } from './fixtures.ts'

const folder = temporaryFolders()

/** A split SD V1.4 download like GenImage's: good images, an upper-case .PNG, a 0-byte PNG, a truncated PNG, a README. */
async function sdv4Download(): Promise<string> {
  const staging = await folder('staging')
  const downloads = await folder('downloads')
  const top = join(staging, 'imagenet_ai_0419_sdv4')
  for (let i = 0; i < 3; i++) {
    await writeAt(join(top, 'train', 'ai', `fake_${i}.png`), await pngOf(96, 96, i + 1))
    await writeAt(join(top, 'train', 'nature', `real_${i}.JPEG`), await jpegOf(96, 96, i + 10))
  }
  await writeAt(join(top, 'val', 'ai', 'UPPER.PNG'), await pngOf(64, 64, 42))
  await writeAt(join(top, 'val', 'nature', 'real_val.JPEG'), await jpegOf(64, 64, 43))
  await writeAt(join(top, 'val', 'ai', 'empty.png'), '')
  const whole = await pngOf(64, 64, 44)
  await writeAt(join(top, 'val', 'ai', 'truncated.png'), whole.subarray(0, Math.floor(whole.length / 2)))
  await writeAt(join(top, 'README.txt'), 'GenImage SD V1.4 subset')
  splitZip(staging, 'imagenet_ai_0419_sdv4', join(downloads, 'imagenet_ai_0419_sdv4.zip'))
  return downloads
}

describe('archive names and entry places', () => {
  it('maps every GenImage download name to its generator folder', () => {
    const names = {
      imagenet_ai_0419_sdv4: 'SD_V1.4',
      imagenet_ai_0424_sdv5: 'SD_V1.5',
      imagenet_ai_0508_adm: 'ADM',
      imagenet_ai_0419_biggan: 'BigGAN',
      imagenet_ai_0419_vqdm: 'VQDM',
      imagenet_ai_0424_wukong: 'Wukong',
      imagenet_glide: 'GLIDE',
      imagenet_midjourney: 'Midjourney',
    }
    for (const [archive, folder] of Object.entries(names)) expect(generatorForArchive(archive)?.folder).toBe(folder)
    expect(generatorForArchive('holiday_photos')).toBeUndefined()
  })

  it('finds {train,val}/{ai,nature} anywhere in an entry path, in any case', () => {
    expect(layoutPlaceOf('imagenet_ai_0508_adm/VAL/AI/x.PNG')).toEqual({ split: 'val', label: 'ai', fileName: 'x.PNG' })
    expect(layoutPlaceOf('train/nature/n.JPEG')).toEqual({ split: 'train', label: 'nature', fileName: 'n.JPEG' })
    expect(layoutPlaceOf('imagenet_glide/README.md')).toBeUndefined()
  })
})

describe('ingest', () => {
  it('joins a split archive set and lays it out under the GenImage generator name', async () => {
    const downloads = await sdv4Download()
    const parts = (await readdir(downloads)).filter((name) => /\.z\d\d$/.test(name))
    expect(parts.length).toBeGreaterThan(0)
    const root = await folder('root')
    const report = await ingest(downloads, root)

    expect(report.archives).toMatchObject([{ archive: 'imagenet_ai_0419_sdv4', generator: 'SD_V1.4', parts: parts.length + 1, extracted: 8 }])
    expect((await readdir(join(root, 'SD_V1.4', 'train', 'ai'))).sort()).toEqual(['fake_0.png', 'fake_1.png', 'fake_2.png'])
    expect((await readdir(join(root, 'SD_V1.4', 'val', 'ai'))).sort()).toEqual(['UPPER.PNG'])
    expect(await readdir(join(root, 'SD_V1.4', 'val', 'nature'))).toEqual(['real_val.JPEG'])
  })

  it('quarantines the 0-byte and the truncated PNG with reasons and lists what it did not extract', async () => {
    const root = await folder('root')
    await ingest(await sdv4Download(), root)
    const byPath = Object.fromEntries((await readQuarantine(root)).map((record) => [record.path, record]))
    expect(byPath['SD_V1.4/val/ai/empty.png']).toMatchObject({ reason: 'empty' })
    expect(byPath['SD_V1.4/val/ai/truncated.png']).toMatchObject({ reason: 'undecodable' })
    expect(byPath['imagenet_ai_0419_sdv4/README.txt']).toMatchObject({ reason: 'outside_layout' })
    expect((await stat(join(root, '.quarantine', 'SD_V1.4', 'val', 'ai', 'truncated.png'))).size).toBeGreaterThan(0)
  })

  it('refuses an archive with a ../evil entry, naming it, and writes nothing', async () => {
    const downloads = await folder('downloads')
    const root = await folder('root')
    const png = (await pngOf(16, 16, 1)).toString('latin1')
    zipWithRawNames(join(downloads, 'imagenet_glide.zip'), { 'imagenet_glide/train/ai/ok.png': png, '../evil': 'owned' })
    const failure = await ingest(downloads, root).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(DatasetError)
    expect((failure as DatasetError).code).toBe('unsafe_archive_entry')
    expect((failure as DatasetError).message).toContain("'../evil'")
    expect(await readdir(root)).not.toContain('GLIDE')
    await expect(stat(join(root, '..', 'evil'))).rejects.toThrow()
  })

  it('refuses absolute paths and symbolic links', async () => {
    const downloads = await folder('downloads')
    zipWithRawNames(join(downloads, 'imagenet_ai_0508_adm.zip'), { '/etc/owned.png': 'x' })
    await expect(ingest(downloads, await folder('root'))).rejects.toThrow(/'\/etc\/owned.png' \(is an absolute path\)/)

    const staging = await folder('staging')
    await writeAt(join(staging, 'imagenet_ai_0419_vqdm', 'train', 'ai', 'a.png'), await pngOf(16, 16, 2))
    await symlink('/etc/passwd', join(staging, 'imagenet_ai_0419_vqdm', 'train', 'ai', 'link.png'))
    const linkDownloads = await folder('downloads')
    splitZip(staging, 'imagenet_ai_0419_vqdm', join(linkDownloads, 'imagenet_ai_0419_vqdm.zip'), '1g')
    await expect(ingest(linkDownloads, await folder('root'))).rejects.toThrow(/link\.png' \(is a symbolic link\)/)
  })

  it('continues an interrupted run without writing anything twice', async () => {
    const downloads = await sdv4Download()
    const root = await folder('root')
    const controller = new AbortController()
    let seen = 0
    const abortAfterFour: Progress = { start() {}, setTotal() {}, stop() {}, increment: () => void (++seen === 4 && controller.abort()) }
    const first = await ingest(downloads, root, { signal: controller.signal, progress: abortAfterFour, concurrency: 1 })
    expect(first.interrupted).toBe(true)
    const partial = (await readdir(join(root, 'SD_V1.4', 'train', 'ai')).catch(() => [])).length
    expect(partial).toBeLessThan(3)

    const second = await ingest(downloads, root)
    expect(second.interrupted).toBe(false)
    const trainAi = await readdir(join(root, 'SD_V1.4', 'train', 'ai'))
    expect(trainAi.sort()).toEqual(['fake_0.png', 'fake_1.png', 'fake_2.png'])
    const records = (await readFile(join(root, 'quarantine.jsonl'), 'utf8')).trim().split('\n')
    expect(new Set(records).size).toBe(records.length)

    const third = await ingest(downloads, root)
    expect(third.archives[0]?.status).toBe('already_ingested')
  })
})
