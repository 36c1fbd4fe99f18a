import { createDb, type Db, detections } from '@genimage/shared/db'
import { describe, expect, it } from 'vitest'
import type { DetectionRecord } from '../src/store/detection-store.ts'
import { createLibsqlStore } from '../src/store/libsql-store.ts'

/** An in-memory libSQL database with the project's migrations, counting the INSERT statements it is sent. */
async function countingDb(): Promise<{ db: Db; inserts: () => number }> {
  const db = await createDb(':memory:')
  let inserts = 0
  const insert = db.insert.bind(db)
  db.insert = ((table: typeof detections) => {
    inserts += 1
    return insert(table)
  }) as Db['insert']
  return { db, inserts: () => inserts }
}

function record(request: number, image: number, id = `r${request}-i${image}`): DetectionRecord {
  return {
    id,
    requestId: `request-${request}`,
    correlationId: null,
    imageSha256: 'ab'.repeat(32),
    imageBytes: 100 + image,
    modelName: 'm',
    modelVersion: '1',
    aiGenerated: 0.25,
    verdict: 'real',
    threshold: 0.5,
    scores: { nature: 0.75, ai: 0.25 },
    apiKeyId: null,
    runner: 'http://127.0.0.1:1',
    latencyMs: 3,
    createdAt: new Date(),
  }
}

describe('libSQL detection store', () => {
  it('stores every row of concurrent requests, writing bursts together (group commit)', async () => {
    const { db, inserts } = await countingDb()
    const store = createLibsqlStore(db)
    await Promise.all(Array.from({ length: 60 }, (_, r) => store.recordDetections([record(r, 0), record(r, 1)])))
    const rows = await db.select().from(detections)
    expect(rows).toHaveLength(120)
    expect(new Set(rows.map((row) => row.requestId)).size).toBe(60)
    expect(inserts()).toBeLessThan(60)
    db.$client.close()
  })

  it('fails only the request whose rows cannot be written; the others are stored', async () => {
    const { db } = await countingDb()
    const store = createLibsqlStore(db)
    await store.recordDetections([record(0, 0, 'taken')])
    const results = await Promise.allSettled([
      store.recordDetections([record(1, 0)]),
      store.recordDetections([record(2, 0), record(2, 1, 'taken')]),
      store.recordDetections([record(3, 0)]),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    const rows = await db.select().from(detections)
    expect(rows.map((row) => row.requestId).sort()).toEqual(['request-0', 'request-1', 'request-3'])
    db.$client.close()
  })
})
