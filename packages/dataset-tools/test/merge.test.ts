import { lstat, mkdtemp, readdir, readFile, rm, stat, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { merge } from '../src/merge.ts'
import { temporaryFolder, writeAt, writeLayoutTree } from './fixtures.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})
async function tree(): Promise<string> {
  const made = await temporaryFolder('merge')
  cleanups.push(made.cleanup)
  await writeLayoutTree(made.path, { ADM: { size: 16, count: 2 }, GLIDE: { size: 16, count: 2 } })
  return made.path
}

describe('merge', () => {
  it('hard-links every image into imagenet_ai with generator-prefixed names', async () => {
    const root = await tree()
    const report = await merge(root)
    expect(report.created).toEqual({ hardlink: 16, symlink: 0, copy: 0 })
    expect(report.fallbacks).toEqual([])
    const trainAi = (await readdir(join(root, 'imagenet_ai', 'train', 'ai'))).sort()
    expect(trainAi).toEqual(['ADM_train_0.png', 'ADM_train_1.png', 'GLIDE_train_0.png', 'GLIDE_train_1.png'])
    const original = await stat(join(root, 'ADM', 'train', 'ai', 'train_0.png'))
    const linked = await stat(join(root, 'imagenet_ai', 'train', 'ai', 'ADM_train_0.png'))
    expect(linked.ino).toBe(original.ino)
    expect(original.nlink).toBe(2)
  })

  it('is idempotent: a second run links nothing new and a new file is added alone', async () => {
    const root = await tree()
    await merge(root)
    const again = await merge(root)
    expect(again.created).toEqual({ hardlink: 0, symlink: 0, copy: 0 })
    expect(again.alreadyPresent).toBe(16)
    await writeAt(join(root, 'ADM', 'val', 'nature', 'late.JPEG'), await readFile(join(root, 'ADM', 'val', 'nature', 'n0.JPEG')))
    const third = await merge(root)
    expect(third.created.hardlink).toBe(1)
    expect(await readdir(join(root, 'imagenet_ai', 'val', 'nature'))).toHaveLength(5)
  })

  it('falls back to symbolic links when asked and says which method it used', async () => {
    const root = await tree()
    const report = await merge(root, { method: 'symlink' })
    expect(report.created.symlink).toBe(16)
    const entry = join(root, 'imagenet_ai', 'val', 'ai', 'GLIDE_val_1.png')
    expect((await lstat(entry)).isSymbolicLink()).toBe(true)
    expect(await readFile(entry)).toEqual(await readFile(join(root, 'GLIDE', 'val', 'ai', 'val_1.png')))
    expect((await merge(root, { method: 'symlink' })).alreadyPresent).toBe(16)
  })

  it('never overwrites a different file that already holds a merged name', async () => {
    const root = await tree()
    await writeAt(join(root, 'imagenet_ai', 'train', 'ai', 'ADM_train_0.png'), 'someone else')
    const report = await merge(root)
    expect(report.conflicts).toEqual([
      { path: join(root, 'imagenet_ai', 'train', 'ai', 'ADM_train_0.png'), source: join(root, 'ADM', 'train', 'ai', 'train_0.png') },
    ])
    expect(await readFile(join(root, 'imagenet_ai', 'train', 'ai', 'ADM_train_0.png'), 'utf8')).toBe('someone else')
  })
})

describe('merge across file systems', () => {
  it('falls back from hard links to symbolic links when the merged folder is on another device, and says so', async () => {
    const root = await tree()
    const elsewhere = await mkdtemp(join('/dev/shm', 'genimage-merge-'))
    cleanups.push(() => rm(elsewhere, { recursive: true, force: true }))
    await symlink(elsewhere, join(root, 'imagenet_ai'))
    const report = await merge(root)
    expect(report.created).toEqual({ hardlink: 0, symlink: 16, copy: 0 })
    expect(report.fallbacks).toEqual([expect.stringMatching(/^hardlink failed with EXDEV for .*; using symlink from here on$/)])
    const linked = join(elsewhere, 'val', 'nature', 'GLIDE_n1.JPEG')
    expect(await readFile(linked)).toEqual(await readFile(join(root, 'GLIDE', 'val', 'nature', 'n1.JPEG')))
    const again = await merge(root)
    expect(again.alreadyPresent).toBe(16)
  })
})
