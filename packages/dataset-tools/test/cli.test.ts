import { spawn, spawnSync } from 'node:child_process'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { pngOf, temporaryFolders, writeAt, writeLayoutTree } from './fixtures.ts'

const genimage = fileURLToPath(new URL('../../cli/bin/genimage.js', import.meta.url))
const folder = temporaryFolders()
function cli(...args: string[]) {
  return spawnSync(process.execPath, [genimage, 'dataset', ...args], { encoding: 'utf8' })
}

describe('genimage dataset (the CLI)', () => {
  it('lists every verb and gives each one --help', () => {
    const help = cli('--help')
    expect(help.status).toBe(0)
    for (const verb of ['ingest', 'verify', 'merge', 'manifest', 'audit', 'degrade', 'debias']) {
      expect(help.stdout).toContain(verb)
    }
    const degradeHelp = cli('degrade', '--help')
    expect(degradeHelp.stdout).toMatch(/--interpolation <kernel>/)
    expect(degradeHelp.stdout).toMatch(/--keep-real/)
  })

  it('prints JSON with --json, exits 1 when verify finds a problem and 2 with a stable code on bad input', async () => {
    const root = await folder('cli')
    await writeLayoutTree(root, { GLIDE: { size: 24, count: 1 } })
    const clean = cli('verify', root, '--json')
    expect(clean.status).toBe(0)
    expect(JSON.parse(clean.stdout)).toMatchObject({ passed: true, files: 4 })
    await writeAt(join(root, 'GLIDE', 'val', 'ai', 'broken.png'), (await pngOf(24, 24, 5)).subarray(0, 30))
    const broken = cli('verify', root)
    expect(broken.status).toBe(1)
    expect(broken.stdout).toMatch(/undecodable: GLIDE\/val\/ai\/broken\.png/)
    const bad = cli('debias', root, join(root, 'out'), '--quality', 'high', '--json')
    expect(bad.status).toBe(2)
    expect(JSON.parse(bad.stdout)).toEqual({ error: { code: 'bad_option', message: '--quality must be an integer, got "high"' } })
  })

  it('stops cleanly on Ctrl-C and the same command finishes the work without duplicates', async () => {
    const root = await folder('cli-int')
    await writeLayoutTree(root, { Wukong: { size: 192, count: 15 } })
    const out = join(await folder('cli-out'), 'blurred')
    const args = [genimage, 'dataset', 'degrade', root, out, '--blur', '40', '--concurrency', '1']
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    // The sidecar is written before the first image: from then on the run is in its image loop.
    while (
      !(await stat(join(out, 'degrade.json')).then(
        () => true,
        () => false,
      ))
    )
      await new Promise((r) => setTimeout(r, 20))
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    expect(stderr).toMatch(/run the same command again to continue/)
    expect(JSON.parse(await readFile(join(out, 'degrade.json'), 'utf8')).status).toBe('interrupted')

    const rerun = spawnSync(process.execPath, [...args, '--json'], { encoding: 'utf8' })
    expect(rerun.stderr).toBe('')
    expect(rerun.status).toBe(0)
    const report = JSON.parse(rerun.stdout) as { written: number; alreadyDone: number }
    expect(report.written + report.alreadyDone).toBe(60)
    expect(report.written).toBeGreaterThan(0)
    const files = (await Promise.all(['train', 'val'].flatMap((s) => ['ai', 'nature'].map((l) => readdir(join(out, 'Wukong', s, l)))))).flat()
    expect(files).toHaveLength(60)
    expect(files.filter((name) => name.endsWith('.partial'))).toEqual([])
  })
})
