import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DetectionSummary } from '@genimage/shared'
import { createApiKey, createDb, type DetectionRow, insertDetections } from '@genimage/shared/db'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseTimeOption } from '../src/commands/detections.ts'
import { type RunningCli, runCli, startCli } from './support/cli-process.ts'

/**
 * `genimage detections list|export` against a real edge process on loopback (`genimage edge`, no runner needed to
 * list), reading a libSQL file that holds 130 recorded detections.
 */

let work = ''
let edge: RunningCli & { match: RegExpExecArray }
let apiUrl = ''
let env: Record<string, string | undefined> = {}
const T0 = Date.parse('2026-12-01T00:00:00Z')
const COUNT = 130

function row(i: number): DetectionRow {
  const ai = i % 3 === 0
  return {
    id: `det-${String(i).padStart(4, '0')}`,
    requestId: `req-${i}`,
    correlationId: i === 7 ? 'batch "7", first' : null,
    imageSha256: i.toString(16).padStart(64, '0'),
    imageBytes: 5000 + i,
    modelName: i % 2 === 0 ? 'npr-tiny-mini' : 'other',
    modelVersion: '1',
    aiGenerated: ai ? 0.9 : 0.1,
    verdict: ai ? 'ai' : 'real',
    threshold: 0.5,
    scores: { nature: ai ? 0.1 : 0.9, ai: ai ? 0.9 : 0.1 },
    apiKeyId: null,
    runner: 'http://127.0.0.1:8788',
    latencyMs: 20 + i,
    createdAt: new Date(T0 + i * 60_000),
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'genimage-detections-cli-'))
  const databaseUrl = `file:${join(work, 'genimage.db')}`
  const db = await createDb(databaseUrl)
  await insertDetections(
    db,
    Array.from({ length: COUNT }, (_, i) => row(i)),
  )
  db.$client.close()
  env = {
    DATABASE_URL: databaseUrl,
    GENIMAGE_CONFIG: join(work, 'config/api-key.json'),
    GENIMAGE_API: undefined,
    GENIMAGE_API_URL: undefined,
    GENIMAGE_API_KEY: undefined,
    GENIMAGE_PROGRESS_INTERVAL_MS: '100',
    PORT: undefined,
    HOST: undefined,
  }
  edge = await startCli(['edge'], { ...env, PORT: '0', RUNNER_URLS: 'http://127.0.0.1:9' }, /edge listening on (http:\/\/\S+?)"/)
  apiUrl = edge.match[1] ?? ''
}, 120_000)

afterAll(async () => {
  await edge?.stop()
  await rm(work, { recursive: true, force: true })
})

describe('genimage detections list', () => {
  it('prints one page newest first and a next-page hint that works when pasted', async () => {
    const first = await runCli(['detections', 'list', '--model', 'npr-tiny-mini', '--verdict', 'nature', '--limit', '20', '--api', apiUrl], env)
    expect(first.code).toBe(0)
    const lines = first.stdout.trim().split('\n')
    expect(lines).toHaveLength(20)
    expect(lines[0]).toMatch(/^2026-12-01T02:08:00\.000Z {2}real {2}P\(ai\) 0\.100 {2}npr-tiny-mini@1 {2}key anonymous {2}sha256 0{10}\w\w {2}det-0128$/)
    for (const line of lines) expect(line).toMatch(/ real .* npr-tiny-mini@1 /)
    const hint = /more: (npx genimage .+)$/m.exec(first.stderr)?.[1] ?? ''
    expect(hint).toMatch(/^npx genimage detections list --model npr-tiny-mini --verdict real --limit 20 --cursor [\w-]+ --api http:\/\/127\.0\.0\.1:\d+$/)
    // Pasted as printed: the next 20, continuing where the first page stopped.
    const second = await runCli(hint.split(' ').slice(2), env)
    expect(second.code).toBe(0)
    const ids = (text: string) => [...text.matchAll(/det-\d{4}/g)].map((m) => m[0])
    const all = [...ids(first.stdout), ...ids(second.stdout)]
    expect(new Set(all).size).toBe(40)
    expect(all).toEqual([...all].sort().reverse())
  })

  it('--json prints the page as the API answers it, with --since/--until resolved to ISO times', async () => {
    const run = await runCli(['detections', 'list', '--since', '2026-12-01T01:00:00Z', '--until', '2026-12-01T01:10:00+00:00', '--json', '--api', apiUrl], env)
    expect(run.code).toBe(0)
    const page = JSON.parse(run.stdout) as { detections: unknown[]; next_cursor: string | null }
    expect(page.next_cursor).toBe(null)
    const detections = page.detections.map((d) => DetectionSummary.parse(d))
    expect(detections.map((d) => d.id)).toEqual(Array.from({ length: 10 }, (_, i) => `det-${String(69 - i).padStart(4, '0')}`))
    expect(run.stdout).not.toMatch(/scores|nature/)
  })

  it('refuses a bad option value before calling the edge (exit 2)', async () => {
    const bad = await runCli(['detections', 'list', '--since', 'last tuesday', '--api', apiUrl], env)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--since.*ISO time with a zone/)
    expect((await runCli(['detections', 'list', '--limit', '501', '--api', apiUrl], env)).code).toBe(2)
    expect(parseTimeOption('24h', T0)).toBe('2026-11-30T00:00:00.000Z')
    expect(parseTimeOption('2026-12-01')).toBe('2026-12-01T00:00:00.000Z')
  })
})

describe('genimage detections export', () => {
  it('--csv -o writes every detection across pages (50 + 50 + 30), with progress lines outside a terminal', async () => {
    const out = join(work, 'all.csv')
    const run = await runCli(['detections', 'export', '--csv', '-o', out, '--page-size', '50', '--api', apiUrl], env)
    expect(run.code).toBe(0)
    const rows = (await readFile(out, 'utf8')).trimEnd().split('\r\n')
    expect(rows[0]).toBe(
      'time,model,model_version,verdict,ai_generated,threshold,latency_ms,key_name,key_id,image_bytes,image_sha256,request_id,correlation_id,detection_id,runner',
    )
    expect(rows).toHaveLength(1 + COUNT)
    expect(rows[1]).toMatch(/^2026-12-01T02:09:00\.000Z,other,1,ai,0\.9,0\.5,149,,,5129,0{62}81,req-129,,det-0129,http:\/\/127\.0\.0\.1:8788$/)
    expect(rows.find((r) => r.includes(',det-0007,'))).toContain(',"batch ""7"", first",')
    expect(run.stderr).toMatch(/progress: export detections 0\/0/)
    expect(run.stderr).toMatch(/progress: export detections 130\/130 \(100\.0%\)/)
    expect(run.stderr).toContain(`exported ${COUNT} detection(s) from ${apiUrl} to ${out}`)
  })

  it('--jsonl to stdout, filtered; a stack that requires keys says how to get one with the detect scope', async () => {
    const run = await runCli(['detections', 'export', '--jsonl', '--verdict', 'ai', '--no-progress', '--api', apiUrl], env)
    expect(run.code).toBe(0)
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => DetectionSummary.parse(JSON.parse(l)))
    expect(lines).toHaveLength(44)
    expect(lines.every((d) => d.verdict === 'ai')).toBe(true)
    expect(run.stderr).not.toMatch(/progress:/)
    // The first key makes keys required (REQUIRE_API_KEY=auto) for this edge, which shares the database file.
    const db = await createDb(env.DATABASE_URL ?? '')
    const key = await createApiKey(db, { name: 'auditor', scopes: ['detect'] })
    db.$client.close()
    const refused = await runCli(['detections', 'list', '--api', apiUrl], env)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/unauthorized: .*npx genimage keys create --name me --scopes detect --save/)
    const own = await runCli(['detections', 'list', '--api', apiUrl], { ...env, GENIMAGE_API_KEY: key.secret })
    expect(own.code).toBe(0)
    expect(own.stderr).toMatch(/^0 detection\(s\) from/m)
  })
})
