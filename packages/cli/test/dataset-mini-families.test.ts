import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from './support/cli-process.ts'

let work: string
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'genimage-cli-mini-'))
})
afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

describe('genimage dataset mini --families', () => {
  it('builds only the generators of the named families and says where each family got its weights', async () => {
    const out = path.join(work, 'gan')
    const run = await runCli(
      ['dataset', 'mini', out, '--families', 'gan,control', '--per-class-train', '2', '--per-class-val', '1', '--no-progress'],
      {},
      { timeoutMs: 240_000 },
    )
    expect(run.code, run.stderr).toBe(0)
    const manifest = JSON.parse(await readFile(path.join(out, 'mini.json'), 'utf8'))
    expect(manifest.generators.map((g: { name: string }) => g.name)).toEqual(['GAN-tconv', 'Bicubic'])
    // Default seed and size: the shipped GAN weights match, so nothing trains.
    expect(manifest.networks.gan).toMatchObject({ source: 'shipped', plan: { steps: 500, seed: 1, size: 128 } })
    expect(manifest.networks['latent-diffusion']).toBeUndefined()
    expect(run.stdout + run.stderr).toMatch(/gan: shipped weights, sha256 [0-9a-f]{12}/)
  }, 120_000)

  it('rejects an unknown family with bad_option and names the known ones', async () => {
    const run = await runCli(['dataset', 'mini', path.join(work, 'x'), '--families', 'vae', '--no-progress'])
    expect(run.code).not.toBe(0)
    expect(run.stderr).toMatch(/bad_option/)
    expect(run.stderr).toMatch(/latent-diffusion, pixel-diffusion, gan/)
  })
})
