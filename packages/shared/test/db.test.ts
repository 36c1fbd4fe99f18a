import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { noContentCredentials } from '../src/contracts/content-credentials.ts'
import { createDb, type DetectionRow, detections, insertDetections, isDbReachable } from '../src/db/index.ts'

const dirs: string[] = []
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

describe('createDb', () => {
  it('applies the migrations to a new file database and keeps rows across reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'genimage-db-'))
    dirs.push(dir)
    const url = `file:${join(dir, 'test.db')}`
    const db = await createDb(url)
    await db.insert(detections).values({
      id: 'd1',
      requestId: 'r1',
      imageSha256: 'a'.repeat(64),
      imageBytes: 10,
      modelName: 'm',
      modelVersion: '1',
      aiGenerated: 0.75,
      verdict: 'ai',
      scores: { nature: 0.25, ai: 0.75 },
      latencyMs: 3,
      createdAt: new Date(),
    })
    db.$client.close()

    const again = await createDb(url)
    const rows = await again.select().from(detections).where(eq(detections.id, 'd1'))
    expect(rows).toHaveLength(1)
    expect(rows[0]?.scores).toEqual({ nature: 0.25, ai: 0.75 })
    again.$client.close()
  })

  it('runs migrations idempotently on :memory:', async () => {
    const db = await createDb(':memory:')
    const tables = await db.$client.execute("select name from sqlite_master where type = 'table' order by name")
    expect(tables.rows.map((r) => r.name)).toEqual(expect.arrayContaining(['api_keys', 'detections', 'manifest_images', 'models']))
  })
})

describe('insertDetections', () => {
  it('writes rows that drizzle reads back exactly as given: JSON scores, dates, nulls and every bit of a double', async () => {
    const db = await createDb(':memory:')
    const at = new Date('2026-11-26T18:00:00.123Z')
    const row = (i: number): DetectionRow => ({
      id: `d${i}`,
      requestId: `r${i % 2}`,
      correlationId: i === 2 ? 'client "trace" 2' : null,
      imageSha256: String(i).repeat(64).slice(0, 64),
      imageBytes: 1000 + i,
      modelName: 'resnet50',
      modelVersion: '2',
      aiGenerated: 0.1 + i / 3,
      verdict: i % 2 ? 'ai' : 'real',
      threshold: i === 3 ? null : 0.5 + i / 7,
      scores: { nature: 1 - (0.1 + i / 3), ai: 0.1 + i / 3, 'with "quotes"': i },
      contentCredentials: i === 4 ? { ...noContentCredentials(), present: true, state: 'invalid', reasons: ['a "quoted" reason'] } : null,
      apiKeyId: i === 0 ? null : `key${i}`,
      runner: i === 1 ? null : 'http://127.0.0.1:8788',
      latencyMs: 12.5 * i,
      createdAt: new Date(at.getTime() + i),
    })
    const written = Array.from({ length: 7 }, (_, i) => row(i))
    await insertDetections(db, written.slice(0, 1))
    await insertDetections(db, written.slice(1))
    await insertDetections(db, [])
    const read = await db.select().from(detections).orderBy(detections.id)
    expect(read).toEqual(written)
    db.$client.close()
  })

  it('writes all rows of a call or none', async () => {
    const db = await createDb(':memory:')
    const base: DetectionRow = {
      id: 'same',
      requestId: 'r',
      imageSha256: 'a'.repeat(64),
      imageBytes: 1,
      modelName: 'm',
      modelVersion: '1',
      aiGenerated: 0.5,
      verdict: 'ai',
      scores: {},
      latencyMs: 1,
      createdAt: new Date(),
    }
    await expect(insertDetections(db, [{ ...base, id: 'ok' }, base, base])).rejects.toThrow(/UNIQUE/)
    expect(await db.select().from(detections)).toEqual([])
    db.$client.close()
  })
})

describe('isDbReachable', () => {
  it('is true while the database answers and false, without throwing, once it is closed', async () => {
    const db = await createDb(':memory:')
    expect(await isDbReachable(db)).toBe(true)
    db.$client.close()
    expect(await isDbReachable(db)).toBe(false)
  })
})
