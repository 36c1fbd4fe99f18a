import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { count, eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ExperimentSpec } from '../src/contracts/experiments.ts'
import {
  anyApiKeyEverCreated,
  cancelExperiment,
  createApiKey,
  createDb,
  createdExperiment,
  createExperiment,
  type Db,
  getExperiment,
  jobs,
  listExperiments,
  publicFailureReason,
  revokeApiKey,
} from '../src/db/index.ts'
import { expandProtocol } from '../src/genimage/protocols.ts'

let dir = ''
let db: Db
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-db-exp-'))
  db = await createDb(`file:${join(dir, 'exp.db')}`)
})
afterAll(async () => {
  db.$client.close()
  await rm(dir, { recursive: true, force: true })
})

const GENERATORS_64 = Array.from({ length: 64 }, (_, i) => `Gen${i}`)
const spec = (input: Record<string, unknown> = {}) =>
  ExperimentSpec.parse({ protocol: 'table3', models: ['npr-tiny'], dataRoot: '/data/mini', generators: ['SD_V1.4', 'ADM'], ...input })

describe('experiment rows', () => {
  it('stores 7,040 runs in chunked inserts (one INSERT of them all overflowed the stack at 6,400)', async () => {
    const big = spec({
      protocol: 'table4',
      generators: GENERATORS_64,
      models: ['resnet50', 'deit-s', 'swin-t', 'cnnspot', 'spec', 'f3net', 'gramnet', 'npr', 'univfd-probe', 'npr-tiny', 'spec-tiny'],
      seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    })
    const runs = expandProtocol(big)
    expect(runs).toHaveLength(7040)
    const id = await createExperiment(db, big, runs)
    const [stored] = await db.select({ n: count() }).from(jobs).where(eq(jobs.experimentId, id))
    expect(stored?.n).toBe(7040)
    const created = await createdExperiment(db, id)
    expect(created).toMatchObject({ totalRuns: 7040, runs: { queued: 7040 } })
    expect(JSON.stringify(created).length).toBeLessThan(8192)
  })

  it('records the owner and lists, shows and cancels only for that owner (undefined: everyone)', async () => {
    const mine = await createExperiment(db, spec(), expandProtocol(spec()), new Date(), 'key_a')
    const anonymous = await createExperiment(db, spec(), expandProtocol(spec()), new Date(), null)
    expect((await listExperiments(db, 500, 'key_a')).map((e) => e.id)).toEqual([mine])
    expect((await listExperiments(db, 500, null)).map((e) => e.id).includes(mine)).toBe(false)
    expect((await listExperiments(db, 500, null)).map((e) => e.id).includes(anonymous)).toBe(true)
    expect(await getExperiment(db, mine, 'key_b')).toBeUndefined()
    expect(await cancelExperiment(db, mine, { owner: 'key_b' })).toBeUndefined()
    expect((await getExperiment(db, mine))?.state).toBe('queued')
    expect(await cancelExperiment(db, mine, { owner: 'key_a' })).toEqual({ id: mine, state: 'cancelled', cancelledRuns: 1 })
  })

  it('leaves a finished experiment as it is when cancelled', async () => {
    const id = await createExperiment(db, spec(), expandProtocol(spec()))
    await db.update(jobs).set({ state: 'succeeded' }).where(eq(jobs.experimentId, id))
    expect(await cancelExperiment(db, id)).toEqual({ id, state: 'succeeded', cancelledRuns: 0 })
    expect((await getExperiment(db, id))?.state).toBe('succeeded')
  })

  it('shows failure reasons without host paths', () => {
    expect(publicFailureReason("attempt 1 of 3: ENOENT: no such file or directory, scandir '/root/secret/SD_V1.4'")).toBe(
      "attempt 1 of 3: ENOENT: no such file or directory, scandir '<path>'",
    )
    expect(publicFailureReason('attempt 2: lease of runner-a-123 expired (runner lost)')).toBe('attempt 2: lease of runner-a-123 expired (runner lost)')
    expect(publicFailureReason('attempt 1: data root ../../etc is not a directory; loss became NaN/Inf at C:\\data\\x')).toBe(
      'attempt 1: data root <path> is not a directory; loss became NaN/Inf at <path>',
    )
    expect(publicFailureReason(null)).toBe(null)
  })

  it('remembers that a key existed after every key is revoked', async () => {
    expect(await anyApiKeyEverCreated(db)).toBe(false)
    const key = await createApiKey(db, { name: 'k', scopes: ['metrics'] })
    await revokeApiKey(db, key.id)
    expect(await anyApiKeyEverCreated(db)).toBe(true)
  })
})

describe('ExperimentSpec names and paths', () => {
  it('refuses `.`, `..`, control characters in generator names, relative or dotted data roots and duplicates', () => {
    for (const generators of [['.'], ['..'], ['a\u0000b'], ['a/b']]) expect(ExperimentSpec.safeParse({ ...spec(), generators }).success).toBe(false)
    for (const dataRoot of ['data', '../etc', '/data/../etc', '/data/./x', '/a\u0001b'])
      expect(ExperimentSpec.safeParse({ ...spec(), dataRoot }).success).toBe(false)
    expect(ExperimentSpec.safeParse({ ...spec(), seeds: [1, 1] }).success).toBe(false)
    expect(ExperimentSpec.safeParse({ ...spec(), generators: ['SD V1.4', 'Midjourney', '.hidden..ok'] }).success).toBe(true)
  })
})
