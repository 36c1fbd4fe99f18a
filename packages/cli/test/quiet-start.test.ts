import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot, runCli, startCli } from './support/cli-process.ts'

/** What a healthy start must not print: onnxruntime's red `FAIL :` line, Vulkan/Dawn/Mesa `Error:` and `Warning:` lines. */
const ALARMING = /FAIL|Error:|Warning:|\[E:onnxruntime/

let work = ''
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'genimage-quiet-start-'))
  const made = await runCli(['models', 'handmade', '--out', join(work, 'models/npr-residual-handmade')])
  expect(made.code).toBe(0)
})
afterAll(() => rm(work, { recursive: true, force: true }))

describe('a healthy `npm start` looks healthy', () => {
  it('prints no red or alarming line, and one line per model naming its provider and why', async () => {
    const stack = await startCli(
      ['start'],
      {
        PORT: '0',
        RUNNER_PORT: '0',
        MODEL_DIR: join(work, 'models'),
        DATABASE_URL: `file:${join(work, 'genimage.db')}`,
        ARTIFACT_DIR: join(work, 'artifacts'),
        EXECUTION_PROVIDERS: undefined,
      },
      /GenImage detect API on (http:\/\/\S+)/,
    )
    try {
      const stderr = stack.stderr()
      expect(stderr).not.toMatch(ALARMING)
      const lines = stderr.split('\n').filter((line) => /loaded npr-residual-handmade@\S+ from .*: serving on/.test(line))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/serving on (cpu|webgpu|cuda)\b.* \((the first provider in the list|cuda: .+)\)/)
      expect(stderr).not.toMatch(/provider \w+ skipped/)
      // The banner: the web console's address, and curl commands that work as printed on a stack without keys yet.
      const url = stack.match[1] ?? ''
      const stdout = stack.stdout()
      expect(stdout).toContain(`Web console: ${url}/\n`)
      expect(stdout).toContain(`  curl -s -F image=@packages/dataset-tools/photos/<a photo>.jpg ${url}/v1/detect\n`)
      expect(stdout).toContain('once a key exists, `npx genimage keys create …`, every call needs it: add -H "Authorization: Bearer $GENIMAGE_API_KEY"')
    } finally {
      await stack.stop()
    }
    expect(stack.stderr()).not.toMatch(ALARMING)
  })
})

describe('npm in this repository', () => {
  it("prints no warning on every command, and still keeps onnxruntime-node's CUDA download off", async () => {
    const npm = spawnSync('npm', ['pkg', 'get', 'name'], { cwd: repoRoot, encoding: 'utf8' })
    expect(npm.status).toBe(0)
    expect(npm.stderr).not.toMatch(/npm warn/i)
    const manifest = JSON.parse(await readFile(`${repoRoot}/package.json`, 'utf8')) as { allowScripts?: Record<string, boolean> }
    expect(manifest.allowScripts?.['onnxruntime-node']).toBe(false)
  })
})
