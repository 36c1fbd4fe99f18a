import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { createDb, detections } from '../src/db/index.ts'

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
    expect(tables.rows.map((r) => r.name)).toEqual(
      expect.arrayContaining(['api_keys', 'detections', 'manifest_images', 'models']),
    )
  })
})
