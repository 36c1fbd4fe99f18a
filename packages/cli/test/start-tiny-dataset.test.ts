import { readdir, rm, stat } from 'node:fs/promises'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEdge } from '@genimage/edge-api/node'
import { DATASET_BUILD_MARKER, DatasetListResponse } from '@genimage/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stackDataDir } from '../src/commands/start.ts'
import { ensureTinyDataset, TINY_DATASET_NAME } from '../src/commands/tiny-dataset.ts'
import { startCli } from './support/cli-process.ts'

let work = ''
let edge: Awaited<ReturnType<typeof startEdge>> | undefined
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'genimage-tiny-dataset-'))
  edge = await startEdge({ PORT: '0', DATABASE_URL: `file:${join(work, 'edge.db')}`, DATASET_DIRS: work, RUNNER_REGISTRY: 'false', LOG_LEVEL: 'silent' })
})
afterAll(async () => {
  await edge?.close()
  await rm(work, { recursive: true, force: true })
})

const listed = async (url: string) => DatasetListResponse.parse(await (await fetch(`${url}/v1/datasets`)).json()).datasets

describe('the tiny GenImage-mini `genimage start` makes for the console', () => {
  it('is built once in the background, listed as building meanwhile and ready after, then reused without building again', async () => {
    const lines: string[] = []
    const tiny = ensureTinyDataset(work, (line) => lines.push(line))
    expect(tiny).toMatchObject({ reused: false, root: join(work, TINY_DATASET_NAME) })
    const during = await listed(edge!.url)
    expect(during).toEqual([expect.objectContaining({ name: TINY_DATASET_NAME, state: 'building', kind: 'genimage-mini' })])
    const outcome = await tiny.done
    expect(outcome, lines.join('\n')).toMatchObject({ ok: true, images: 3 * 2 * (32 + 16) })
    console.log(`tiny dataset built in ${outcome.seconds} s:\n${lines.join('\n')}`)
    expect(lines.at(-1)).toMatch(/^Tiny dataset ready: .*genimage-mini-tiny \(288 images in [\d.]+ s\)$/)
    expect(lines.filter((line) => /^Tiny dataset: writing images \d+\/288$/.test(line)).length).toBeGreaterThanOrEqual(2)
    const [ready] = await listed(edge!.url)
    expect(ready).toMatchObject({ state: 'ready', images: 288, dataRoot: tiny.root })
    expect(ready?.build).toBeUndefined()
    expect(ready?.generators.map((g) => [g.name, g.train, g.val])).toEqual([
      ['GAN-tconv', { ai: 32, nature: 32 }, { ai: 16, nature: 16 }],
      ['LDM-ddim-20', { ai: 32, nature: 32 }, { ai: 16, nature: 16 }],
      ['RDN-slim', { ai: 32, nature: 32 }, { ai: 16, nature: 16 }],
    ])
    expect(await readdir(tiny.root)).not.toContain(DATASET_BUILD_MARKER)

    const before = (await stat(join(tiny.root, 'mini.json'))).mtimeMs
    const again = ensureTinyDataset(work, (line) => lines.push(line))
    expect(again.reused).toBe(true)
    await again.done
    expect((await stat(join(tiny.root, 'mini.json'))).mtimeMs).toBe(before)
  }, 180_000)

  it('lives in the folder of the stack’s file database unless GENIMAGE_DATA_DIR says otherwise', () => {
    expect(stackDataDir({}, 'file:./data/genimage.db')).toBe(join(process.cwd(), 'data'))
    expect(stackDataDir({}, 'file:/srv/genimage/stack.db')).toBe('/srv/genimage')
    expect(stackDataDir({}, 'file:///srv/genimage/stack.db?mode=rwc')).toBe('/srv/genimage')
    expect(stackDataDir({}, 'libsql://db.example.turso.io')).toBe(join(process.cwd(), 'data'))
    expect(stackDataDir({ GENIMAGE_DATA_DIR: '/srv/sets' }, 'file:./data/genimage.db')).toBe('/srv/sets')
  })

  it('`genimage start` finds it in the folder of its database, says so, and its edge lists it', async () => {
    const stack = await startCli(
      ['start'],
      {
        PORT: '0',
        RUNNER_PORT: '0',
        MODEL_DIR: join(work, 'models'),
        DATABASE_URL: `file:${join(work, 'genimage.db')}`,
        ARTIFACT_DIR: join(work, 'artifacts'),
        EXECUTION_PROVIDERS: 'cpu',
        DATASET_DIRS: undefined,
        GENIMAGE_DATA_DIR: undefined,
      },
      /Tiny dataset: .*built earlier/,
    )
    try {
      const url = /GenImage detect API on (http:\/\/\S+)/.exec(stack.stdout())?.[1] ?? ''
      expect(stack.stdout()).toContain(`Tiny dataset: ${join(work, TINY_DATASET_NAME)} (GenImage-mini, built earlier; the experiments form offers it)`)
      expect((await listed(url)).map((d) => [d.name, d.state])).toEqual([[TINY_DATASET_NAME, 'ready']])
    } finally {
      await stack.stop()
    }
  }, 120_000)
})
