import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot, type RunningCli, runCli, startCli } from './support/cli-process.ts'

/**
 * The commands a new user runs against `npm start`, on a real stack on loopback (runner + edge + libSQL file, no
 * train worker): `genimage detect`, and the experiment commands finding the API and key the way the stack was started.
 */

let work = ''
let stack: RunningCli & { match: RegExpExecArray }
let apiUrl = ''
let port = ''
let env: Record<string, string | undefined> = {}
const photos = join(repoRoot, 'packages/dataset-tools/photos')

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'genimage-stack-cli-'))
  expect((await runCli(['models', 'handmade', '--out', join(work, 'models/npr-residual-handmade')])).code).toBe(0)
  env = {
    DATABASE_URL: `file:${join(work, 'genimage.db')}`,
    GENIMAGE_CONFIG: join(work, 'config/api-key.json'),
    GENIMAGE_API: undefined,
    GENIMAGE_API_URL: undefined,
    GENIMAGE_API_KEY: undefined,
    GENIMAGE_PROGRESS_INTERVAL_MS: '200',
    PORT: undefined,
    HOST: undefined,
  }
  stack = await startCli(
    ['start'],
    { ...env, PORT: '0', RUNNER_PORT: '0', MODEL_DIR: join(work, 'models'), TRAIN_WORKER: 'false', EXECUTION_PROVIDERS: 'cpu' },
    /GenImage detect API on (http:\/\/\S+)/,
  )
  apiUrl = stack.match[1] ?? ''
  port = new URL(apiUrl).port
  // 18 real photos (two requests: 16 + 2), one file that is not an image, one path that does not exist.
  const folder = join(work, 'to-score')
  await mkdir(join(folder, 'nested'), { recursive: true })
  const jpgs = (await readdir(photos)).filter((f) => f.endsWith('.jpg')).sort()
  expect(jpgs.length).toBeGreaterThanOrEqual(18)
  for (const [i, name] of jpgs.slice(0, 18).entries()) await copyFile(join(photos, name), join(folder, i < 15 ? '' : 'nested', name))
  await writeFile(join(folder, 'nested', 'not-an-image.png'), 'plain text, not a PNG')
})

afterAll(async () => {
  await stack?.stop()
  await rm(work, { recursive: true, force: true })
})

describe('genimage detect <files or folders>', () => {
  it('scores a folder in requests of at most 16 images, one CSV row per image, progress lines and a summary on stderr, exit 1 on errors', async () => {
    const run = await runCli(['detect', join(work, 'to-score'), join(work, 'missing.jpg'), '--csv', '--api', apiUrl], env)
    const rows = run.stdout.trim().split('\n')
    expect(rows[0]).toBe('file,verdict,ai_generated,calibrated_probability,threshold,model,out_of_distribution,detection_id,error_code,error')
    expect(rows).toHaveLength(1 + 19)
    const scored = rows.slice(1).filter((r) => /,(ai|real),/.test(r))
    expect(scored).toHaveLength(18)
    for (const row of scored) expect(row).toMatch(/,npr-residual-handmade@[^,]+,/)
    expect(rows.find((r) => r.includes('not-an-image.png'))).toMatch(/,unsupported_media_type,/)
    expect(run.stderr).toMatch(/progress: detect 0\/19/)
    expect(run.stderr).toMatch(/progress: detect 19\/19 \(100\.0%\)/)
    expect(run.stderr).toMatch(/missing\.jpg: file_not_found/)
    expect(run.stderr).toMatch(
      /scored 18 of 19 image\(s\) by npr-residual-handmade@\S+ at http:\/\/127\.0\.0\.1:\d+: \d+ ai, \d+ real; not scored: 1 unsupported_media_type, 1 file_not_found/,
    )
    expect(run.code).toBe(1)
  })

  it('--json gives every result with its detection and request ids (16 + 2 per request); exit 0 when all were scored; PORT finds the API', async () => {
    // A key saved for another stack: this edge (no keys yet) does not know it, and the CLI goes on without it.
    const elsewhere = join(work, 'config/other-stack.json')
    await mkdir(join(work, 'config'), { recursive: true })
    await writeFile(elsewhere, JSON.stringify({ secret: 'gk_not_from_this_stack', id: 'k0', name: 'other', scopes: ['detect'], savedAt: '' }))
    const run = await runCli(['detect', join(work, 'to-score'), '--json', '--no-progress'], { ...env, PORT: port, GENIMAGE_CONFIG: elsewhere })
    const body = JSON.parse(run.stdout) as {
      summary: { scored: number; errors: number }
      results: { file: string; detection_id?: string; request_id?: string; error?: { code: string } }[]
    }
    expect(body.summary).toMatchObject({ scored: 18, errors: 1 })
    expect(body.results.filter((r) => r.detection_id)).toHaveLength(18)
    const perRequest = new Map<string, number>()
    for (const r of body.results) if (r.request_id) perRequest.set(r.request_id, (perRequest.get(r.request_id) ?? 0) + 1)
    expect([...perRequest.values()].sort((a, b) => a - b)).toEqual([2, 16])
    const clean = await runCli(['detect', join(work, 'to-score', 'nested', (await readdir(join(work, 'to-score', 'nested')))[0] ?? ''), '--json'], {
      ...env,
      PORT: port,
    })
    expect(clean.code).toBe(0)
    expect(run.stderr).not.toMatch(/progress:/)
  })

  it('refuses more than 16 images per request before sending anything', async () => {
    const run = await runCli(['detect', photos, '--batch-size', '17', '--api', apiUrl], env)
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/--batch-size.*from 1 to 16/)
  })
})

describe('the experiment commands find the stack and print hints that work when pasted', () => {
  it('finds the API from PORT, the key from `keys create --save`, and its "Report:" hint runs as printed', async () => {
    const data = join(work, 'data')
    for (const split of ['train', 'val']) for (const label of ['ai', 'nature']) await mkdir(join(data, 'SDV14', split, label), { recursive: true })
    // A key makes the edge require one from now on; --save keeps it for the commands below (no GENIMAGE_API_KEY).
    const created = await runCli(['keys', 'create', '--name', 'researcher', '--scopes', 'experiments', '--save'], env)
    expect(created.code).toBe(0)
    expect(created.stderr).toContain(`saved the secret to ${env.GENIMAGE_CONFIG}`)
    expect((await stat(env.GENIMAGE_CONFIG ?? '')).mode & 0o777).toBe(0o600)
    const submitted = await runCli(['experiment', 'run', 'table3', '--models', 'npr-tiny', '--data', data, '--detach'], { ...env, PORT: port })
    expect(submitted.stderr).toMatch(/submitted /)
    expect(submitted.code).toBe(0)
    const id = submitted.stdout.trim()
    expect((await runCli(['experiment', 'cancel', id], { ...env, PORT: port })).code).toBe(0)
    const followed = await runCli(['experiment', 'follow', id], { ...env, PORT: port })
    const hint = /Report: (npx genimage .+)$/m.exec(followed.stderr)?.[1] ?? ''
    expect(hint).toBe(`npx genimage report ${id} --api ${apiUrl}`)
    // Pasted into another shell: no PORT there; the key comes from the saved file.
    const pasted = await runCli(hint.split(' ').slice(2), env, { cwd: work })
    expect(pasted.stderr).not.toMatch(/cannot reach|unauthorized|forbidden/)
    expect(pasted.code).toBe(0)
    expect(await readFile(join(work, 'reports', id, 'report.md'), 'utf8')).toContain(id)
  })

  it('says which scope and command are needed when the saved key lacks the experiments scope', async () => {
    const narrow = { ...env, GENIMAGE_CONFIG: join(work, 'config/detect-only.json') }
    expect((await runCli(['keys', 'create', '--name', 'integrator', '--scopes', 'detect', '--save'], narrow)).code).toBe(0)
    const run = await runCli(['experiment', 'list', '--api', apiUrl], narrow)
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/lacks the experiments scope: npx genimage keys create --name me --scopes experiments --save/)
  })
})
