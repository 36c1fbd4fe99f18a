import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { DatasetError } from '../src/errors.ts'
import type { Progress } from '../src/progress.ts'
import { verify } from '../src/verify.ts'
import { pngOf, temporaryFolder, writeAt, writeLayoutTree } from './fixtures.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})
async function tree(): Promise<string> {
  const made = await temporaryFolder('verify')
  cleanups.push(made.cleanup)
  await writeLayoutTree(made.path, { ADM: { size: 32, count: 2 }, BigGAN: { size: 32, count: 2 } })
  return made.path
}

describe('verify', () => {
  it('passes a clean tree and counts every image per generator, split and class', async () => {
    const root = await tree()
    const report = await verify(root)
    expect(report.passed).toBe(true)
    expect(report.files).toBe(16)
    expect(report.subsets.map((s) => `${s.generator}/${s.split}/${s.label}:${s.ok}`)).toEqual([
      'ADM/train/ai:2',
      'ADM/train/nature:2',
      'ADM/val/ai:2',
      'ADM/val/nature:2',
      'BigGAN/train/ai:2',
      'BigGAN/train/nature:2',
      'BigGAN/val/ai:2',
      'BigGAN/val/nature:2',
    ])
  })

  it('reports a 0-byte PNG, a truncated PNG and an upper-case .PNG where they are', async () => {
    const root = await tree()
    await writeAt(join(root, 'ADM', 'val', 'ai', 'zero.png'), '')
    const whole = await pngOf(48, 48, 9)
    await writeAt(join(root, 'ADM', 'val', 'ai', 'cut.PNG'), whole.subarray(0, whole.length - 40))
    await writeAt(join(root, 'ADM', 'val', 'ai', 'fine.PNG'), whole)
    const jpeg = await readFile(join(root, 'ADM', 'val', 'nature', 'n0.JPEG'))
    await writeAt(join(root, 'ADM', 'val', 'nature', 'cut.jpg'), jpeg.subarray(0, Math.floor(jpeg.length * 0.6)))
    const report = await verify(root)
    expect(report.passed).toBe(false)
    const admValAi = report.subsets.find((s) => s.generator === 'ADM' && s.split === 'val' && s.label === 'ai')!
    expect(admValAi.files).toBe(5)
    expect(admValAi.ok).toBe(3)
    expect(admValAi.problems.map((p) => [p.path, p.kind]).sort()).toEqual([
      ['ADM/val/ai/cut.PNG', 'undecodable'],
      ['ADM/val/ai/zero.png', 'empty'],
    ])
    const admValNature = report.subsets.find((s) => s.generator === 'ADM' && s.split === 'val' && s.label === 'nature')!
    expect(admValNature.problems).toEqual([expect.objectContaining({ path: 'ADM/val/nature/cut.jpg', kind: 'undecodable' })])
  })

  it('checks a sha256 list: mismatches and missing files fail the run', async () => {
    const root = await tree()
    const good = await readFile(join(root, 'ADM', 'train', 'ai', 'train_0.png'))
    const list = [
      `${createHash('sha256').update(good).digest('hex')}  ADM/train/ai/train_0.png`,
      `${'0'.repeat(64)}  ADM/train/ai/train_1.png`,
      `${'1'.repeat(64)}  ADM/train/ai/gone.png`,
    ].join('\n')
    await writeFile(join(root, 'sums.sha256'), list)
    const report = await verify(root, { sha256List: join(root, 'sums.sha256') })
    expect(report.passed).toBe(false)
    const problems = report.subsets.flatMap((s) => s.problems)
    expect(problems).toEqual([expect.objectContaining({ path: 'ADM/train/ai/train_1.png', kind: 'sha256_mismatch' })])
    expect(report.missing).toEqual([expect.objectContaining({ path: 'ADM/train/ai/gone.png', kind: 'missing' })])
  })

  it('rejects a malformed checksum list with a stable code', async () => {
    const root = await tree()
    await writeFile(join(root, 'bad.md5'), 'not a checksum line\n')
    const failure = await verify(root, { md5List: join(root, 'bad.md5') }).catch((error: unknown) => error)
    expect((failure as DatasetError).code).toBe('bad_checksum_list')
  })

  it('continues an interrupted run from the last finished folder', async () => {
    const root = await tree()
    const controller = new AbortController()
    let decoded = 0
    const stopAfterFive: Progress = { start() {}, setTotal() {}, stop() {}, increment: () => void (++decoded === 5 && controller.abort()) }
    const first = await verify(root, { signal: controller.signal, progress: stopAfterFive, concurrency: 1 })
    expect(first.interrupted).toBe(true)
    expect(first.passed).toBe(false)
    const second = await verify(root)
    expect(second.resumedFolders).toBe(2)
    expect(second.passed).toBe(true)
    expect(second.files).toBe(16)
    expect(second.subsets).toHaveLength(8)
  })
})
