import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/libsql'
import { migrate } from 'drizzle-orm/libsql/migrator'
import { afterAll, describe, expect, it } from 'vitest'
import { DetectionsPage, DetectionsQuery } from '../src/contracts/detections.ts'
import { createDb, decodeDetectionsCursor, encodeDetectionsCursor, listDetections, migrationsFolder } from '../src/db/index.ts'

const dirs: string[] = []
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

describe('detections cursor', () => {
  it('round-trips a position and refuses text it did not make', () => {
    const cursor = { createdAtMs: 1_796_282_932_795, id: 'a7c1e2b4-0f2d-4a61-9d3e-5b8c7e6f1a20' }
    const text = encodeDetectionsCursor(cursor)
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(DetectionsQuery.parse({ cursor: text }).cursor).toBe(text)
    expect(decodeDetectionsCursor(text)).toEqual(cursor)
    for (const bad of ['', 'x', '!!!!', btoa('12:'), btoa('abc:id'), btoa('1:id with space'), `${text}A`])
      expect(decodeDetectionsCursor(bad), bad).toBe(undefined)
  })
})

describe('migrations 0004 and 0006: correlation id, threshold and listing indexes', () => {
  it('upgrades a database made by 0000–0003 in place: old rows list with null correlation id and threshold', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'genimage-db-0004-'))
    dirs.push(dir)
    // The migrations as they stood before 0004, applied to a file, with one detection written the old way.
    const before = join(dir, 'migrations')
    await cp(migrationsFolder, before, { recursive: true })
    const journalPath = join(before, 'meta', '_journal.json')
    const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: { tag: string }[] }
    journal.entries = journal.entries.filter((entry) => entry.tag < '0004')
    await writeFile(journalPath, JSON.stringify(journal))
    const url = `file:${join(dir, 'old.db')}`
    const { createClient } = await import('@libsql/client')
    const client = createClient({ url })
    await migrate(drizzle(client), { migrationsFolder: before })
    await client.execute({
      sql: `insert into detections (id, request_id, image_sha256, image_bytes, model_name, model_version, ai_generated, verdict, scores, latency_ms, created_at)
            values ('old-1', 'r-1', ?, 10, 'm', '1', 0.75, 'ai', '{"ai":0.75,"nature":0.25}', 4, 1796000000000)`,
      args: ['c'.repeat(64)],
    })
    client.close()

    const db = await createDb(url)
    const page = DetectionsPage.parse(await listDetections(db, { limit: 10 }))
    expect(page.detections).toEqual([
      {
        id: 'old-1',
        request_id: 'r-1',
        correlation_id: null,
        time: new Date(1796000000000).toISOString(),
        model: { name: 'm', version: '1' },
        verdict: 'ai',
        ai_generated: 0.75,
        threshold: null,
        latency_ms: 4,
        image_bytes: 10,
        image_sha256: 'c'.repeat(64),
        key: null,
        runner: null,
      },
    ])
    const indexes = await db.$client.execute("select name from sqlite_master where type = 'index' and tbl_name = 'detections'")
    expect(indexes.rows.map((r) => r.name)).toEqual(expect.arrayContaining(['detections_model_created_idx', 'detections_key_created_idx']))
    db.$client.close()
  })
})
