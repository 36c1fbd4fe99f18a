import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DATASET_BUILD_MARKER, DatasetListResponse, ErrorResponse } from '@genimage/shared'
import { createDb, type Db } from '@genimage/shared/db'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.ts'
import { type EdgeConfig, edgeEnvironment } from '../src/config.ts'
import { fileDatasetCatalog } from '../src/entries/node-datasets.ts'
import type { DatasetCatalog } from '../src/routes/datasets.ts'
import { RunnerPool } from '../src/runners/runner-pool.ts'
import { libsqlKeyStore } from '../src/store/libsql-keys.ts'
import { createLibsqlStore } from '../src/store/libsql-store.ts'

let dir = ''
let data = ''
const open: Db[] = []
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47])

/** `<root>/<generator>/{train,val}/{ai,nature}` with `n` files per class folder, plus one file that is not an image. */
async function layout(root: string, generators: string[], n: number) {
  for (const generator of generators) {
    for (const split of ['train', 'val']) {
      for (const label of ['ai', 'nature']) {
        const folder = join(root, generator, split, label)
        await mkdir(folder, { recursive: true })
        for (let i = 0; i < n; i++) await writeFile(join(folder, `${i}.png`), PNG)
        await writeFile(join(folder, 'notes.txt'), 'not an image')
      }
    }
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-edge-datasets-'))
  data = join(dir, 'data')
  await layout(join(data, 'genimage-mini-tiny'), ['GAN-tconv', 'Bicubic'], 3)
  await writeFile(join(data, 'genimage-mini-tiny', 'mini.json'), '{}')
  await layout(join(data, 'building'), ['GAN-tconv'], 1)
  await writeFile(
    join(data, 'building', DATASET_BUILD_MARKER),
    JSON.stringify({ phase: 'writing images (GAN-tconv)', done: 4, total: 24, updatedAt: new Date().toISOString() }),
  )
  await mkdir(join(data, 'photos-only'), { recursive: true }) // no generator folders: not a dataset
  await writeFile(join(data, 'genimage.db'), '')
  await layout(join(dir, 'elsewhere', 'secret-set'), ['SD_V1.4'], 1)
  await symlink(join(dir, 'elsewhere', 'secret-set'), join(data, 'linked-set'))
})
afterAll(async () => {
  for (const db of open) db.$client.close()
  await rm(dir, { recursive: true, force: true })
})

async function edge(config: Partial<EdgeConfig>, datasets?: DatasetCatalog) {
  const db = await createDb(`file:${join(dir, `${crypto.randomUUID()}.db`)}`)
  open.push(db)
  return createApp({ store: createLibsqlStore(db), runners: new RunnerPool([]), keys: libsqlKeyStore(db), log: () => {}, config, datasets })
}

describe('GET /v1/datasets', () => {
  it('lists the GenImage-layout datasets under DATASET_DIRS with generators and image counts, a build in progress as building', async () => {
    const app = await edge({}, fileDatasetCatalog([data]))
    const response = await app.request('/v1/datasets')
    expect(response.status).toBe(200)
    const { datasets } = DatasetListResponse.parse(await response.json())
    expect(datasets.map((d) => d.name)).toEqual(['building', 'genimage-mini-tiny', 'linked-set'])
    const tiny = datasets.find((d) => d.name === 'genimage-mini-tiny')!
    expect(tiny).toMatchObject({ dataRoot: join(data, 'genimage-mini-tiny'), state: 'ready', kind: 'genimage-mini', images: 24 })
    expect(tiny.generators).toEqual([
      { name: 'Bicubic', train: { ai: 3, nature: 3 }, val: { ai: 3, nature: 3 } },
      { name: 'GAN-tconv', train: { ai: 3, nature: 3 }, val: { ai: 3, nature: 3 } },
    ])
    expect(tiny.note).toMatch(/not GenImage/)
    expect(datasets.find((d) => d.name === 'building')).toMatchObject({ state: 'building', build: { phase: 'writing images (GAN-tconv)', done: 4, total: 24 } })
    expect(datasets.find((d) => d.name === 'linked-set')).toMatchObject({ kind: 'genimage-layout', state: 'ready', images: 4 })
  })

  it('lists a folder that is itself a dataset as one, and counts images added since the last listing', async () => {
    const root = join(data, 'genimage-mini-tiny')
    const catalog = fileDatasetCatalog([root])
    expect((await catalog.list()).map((d) => [d.dataRoot, d.images])).toEqual([[root, 24]])
    await writeFile(join(root, 'Bicubic', 'val', 'ai', 'extra.png'), PNG)
    expect((await catalog.list())[0]?.generators[0]?.val.ai).toBe(4)
    await rm(join(root, 'Bicubic', 'val', 'ai', 'extra.png'))
  })

  it('offers only datasets inside DATA_ROOTS when that is set', async () => {
    const app = await edge({ dataRoots: [join(data, 'genimage-mini-tiny')] }, fileDatasetCatalog([data]))
    const { datasets } = DatasetListResponse.parse(await (await app.request('/v1/datasets')).json())
    expect(datasets.map((d) => d.name)).toEqual(['genimage-mini-tiny'])
  })

  it('answers 404 not_found where the edge has no dataset folders, and needs the experiments scope once keys are required', async () => {
    const none = await edge({})
    const refused = await none.request('/v1/datasets')
    expect(refused.status).toBe(404)
    expect(ErrorResponse.parse(await refused.json()).error.code).toBe('not_found')
    const keyed = await edge({ apiKeys: 'required' }, fileDatasetCatalog([data]))
    expect((await keyed.request('/v1/datasets')).status).toBe(401)
  })

  it('reads DATASET_DIRS as absolute paths and documents the route in the OpenAPI document', async () => {
    expect(edgeEnvironment({ DATASET_DIRS: '/data/sets, /srv/more' }).config.datasetDirs).toEqual(['/data/sets', '/srv/more'])
    expect(() => edgeEnvironment({ DATASET_DIRS: 'data/sets' })).toThrow(/DATASET_DIRS/)
    const app = await edge({})
    const document = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, { get?: { operationId: string } }> }
    expect(document.paths['/v1/datasets']?.get?.operationId).toBe('listDatasets')
  })
})
