import { readFile, rm, utimes } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join, resolve } from 'node:path'
import { createDb, manifestImages } from '@genimage/shared/db'
import { eq } from 'drizzle-orm'
import { afterEach, describe, expect, it } from 'vitest'
import { buildManifest, defaultManifestUrl } from '../src/manifest.ts'
import type { Progress } from '../src/progress.ts'
import { jpegOf, temporaryFolder, writeAt, writeLayoutTree } from './fixtures.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})
async function tree(): Promise<string> {
  const made = await temporaryFolder('manifest')
  cleanups.push(made.cleanup)
  await writeLayoutTree(made.path, { Wukong: { size: 40, count: 3 } })
  return made.path
}

async function rows(root: string) {
  const db = await createDb(defaultManifestUrl(root))
  try {
    return await db
      .select()
      .from(manifestImages)
      .where(eq(manifestImages.dataset, resolve(root)))
  } finally {
    db.$client.close()
  }
}

describe('manifest', () => {
  it('records one row per image with format, size, bytes, JPEG quality and sha256, and writes JSONL on request', async () => {
    const root = await tree()
    await writeAt(join(root, 'Wukong', 'val', 'nature', 'q75.jpg'), await jpegOf(50, 30, 5, 75))
    const report = await buildManifest(root, { jsonlPath: join(root, 'manifest.jsonl') })
    expect(report).toMatchObject({ records: 13, written: 13, unchanged: 0, unreadable: [] })
    const all = await rows(root)
    const q75 = all.find((row) => row.path === 'Wukong/val/nature/q75.jpg')!
    expect(q75).toMatchObject({ generator: 'Wukong', split: 'val', label: 'nature', format: 'jpeg', width: 50, height: 30, jpegQuality: 75 })
    expect(q75.sha256).toBe(
      createHash('sha256')
        .update(await readFile(join(root, q75.path)))
        .digest('hex'),
    )
    const png = all.find((row) => row.path === 'Wukong/train/ai/train_0.png')!
    expect(png).toMatchObject({ format: 'png', width: 40, height: 40, jpegQuality: null, label: 'ai' })
    expect(all.filter((row) => row.label === 'nature' && row.path !== q75.path).every((row) => row.jpegQuality === 96)).toBe(true)
    const lines = (await readFile(join(root, 'manifest.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { path: string })
    expect(lines.map((line) => line.path)).toEqual(all.map((row) => row.path).sort())
  })

  it('continues an interrupted run without duplicates and re-hashes only changed files', async () => {
    const root = await tree()
    const controller = new AbortController()
    let done = 0
    const abortSoon: Progress = {
      start() {},
      setTotal() {},
      stop() {},
      increment: (by = 1) => {
        done += by
        if (done >= 1) controller.abort()
      },
    }
    const first = await buildManifest(root, { signal: controller.signal, progress: abortSoon, batchSize: 4 })
    expect(first.interrupted).toBe(true)
    expect(first.records).toBeLessThan(12)
    const second = await buildManifest(root)
    expect(second).toMatchObject({ records: 12, interrupted: false })
    expect(second.unchanged).toBe(first.records)
    expect(await rows(root)).toHaveLength(12)

    const changed = join(root, 'Wukong', 'train', 'nature', 'n1.JPEG')
    await writeAt(changed, await jpegOf(20, 20, 77, 50))
    await utimes(changed, new Date(), new Date(Date.now() + 5_000))
    await rm(join(root, 'Wukong', 'val', 'ai', 'val_2.png'))
    const third = await buildManifest(root)
    expect(third).toMatchObject({ records: 11, written: 1, unchanged: 10, removed: 1 })
    expect((await rows(root)).find((row) => row.path === 'Wukong/train/nature/n1.JPEG')).toMatchObject({ jpegQuality: 50, width: 20 })
  })
})
