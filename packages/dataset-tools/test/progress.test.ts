import { spawnSync } from 'node:child_process'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createProgress, formatProgressLine } from '../src/progress.ts'
import { temporaryFolders, writeLayoutTree } from './fixtures.ts'

const genimage = fileURLToPath(new URL('../../cli/bin/genimage.js', import.meta.url))
const folder = temporaryFolders()

describe('progress outside a terminal', () => {
  it('prints plain lines at a steady rate while a phase runs, one when it starts and one when it ends', async () => {
    const stream = new PassThrough()
    let text = ''
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()))
    const progress = createProgress({ stream, intervalMs: 40 })
    expect(progress.active).toBe(true)
    progress.start(100, 'verify')
    for (let i = 0; i < 10; i++) {
      progress.increment(5)
      await new Promise((r) => setTimeout(r, 25))
    }
    progress.stop()
    const lines = text.trim().split('\n')
    expect(lines[0]).toMatch(/^progress: verify 0\/100 \(0\.0%\), 0\.0 s elapsed$/)
    expect(lines.at(-1)).toMatch(/^progress: verify 50\/100 \(50\.0%\), .*elapsed/)
    // ~250 ms of work at one line per 40 ms: several lines between the first and the last, not one per increment.
    expect(lines.length).toBeGreaterThanOrEqual(4)
    expect(lines.length).toBeLessThanOrEqual(10)
  })

  it('names the rate and the time left once there is something to go on', () => {
    expect(formatProgressLine('ingest ADM', 300, 1200, 15_000)).toBe('progress: ingest ADM 300/1200 (25.0%), 20/s, 15 s elapsed, about 45 s left')
  })

  it('stays silent when switched off (--json, --no-progress)', () => {
    const stream = new PassThrough()
    const progress = createProgress({ stream, enabled: false })
    progress.start(10, 'x')
    progress.stop()
    expect(stream.read()).toBeNull()
    expect(progress.active).toBeFalsy()
  })

  it('`genimage dataset verify` into a pipe prints progress lines on stderr and keeps stdout for the result', async () => {
    const root = await folder('progress-pipe')
    await writeLayoutTree(root, { GLIDE: { size: 24, count: 3 } })
    const run = spawnSync(process.execPath, [genimage, 'dataset', 'verify', root], {
      encoding: 'utf8',
      env: { ...process.env, GENIMAGE_PROGRESS_INTERVAL_MS: '100' },
    })
    expect(run.status).toBe(0)
    expect(run.stderr).toMatch(/^progress: verify 0\/12 \(0\.0%\)/m)
    expect(run.stderr).toMatch(/^progress: verify 12\/12 \(100\.0%\)/m)
    expect(run.stdout).not.toMatch(/progress:/)
    expect(run.stdout).toMatch(/verify passed: 12\/12/)
  })
})
