import { execFileSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { setPriority, tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot, type Started, startGenimage } from './processes.ts'

/** Edge + N runner processes on loopback, sharing one temp folder (models, database). */
export interface PoolStack {
  work: string
  databaseUrl: string
  runners: Started[]
  edge: Started
  stop(): Promise<void>
}

/** Writes the handmade fixture model (honest, untrained) into `<work>/models`. */
export function writeFixtureModel(work: string, size = 64): string {
  const out = join(work, 'models/npr-residual-handmade')
  execFileSync(process.execPath, [join(repoRoot, 'packages/cli/bin/genimage.js'), 'models', 'handmade', '--out', out, '--size', String(size)], {
    cwd: repoRoot,
    stdio: 'ignore',
  })
  return join(work, 'models')
}

/** Starts `runners` runner processes and one edge routing to them (static RUNNER_URLS), each on port 0. */
export async function startPoolStack(options: {
  runners: number
  runnerEnv?: Record<string, string>
  edgeEnv?: Record<string, string>
  prefix?: string
  /** Input size of the fixture model (default 64); larger sizes make each image cost the runner more. */
  modelSize?: number
}): Promise<PoolStack> {
  const work = await mkdtemp(join(tmpdir(), options.prefix ?? 'genimage-pool-'))
  const modelDir = writeFixtureModel(work, options.modelSize)
  const databaseUrl = `file:${join(work, 'genimage.db')}`
  const runners = await Promise.all(
    Array.from({ length: options.runners }, (_, i) =>
      startGenimage('runner', {
        RUNNER_PORT: '0',
        RUNNER_NAME: `runner-${i}`,
        MODEL_DIR: modelDir,
        EXECUTION_PROVIDERS: 'cpu',
        DATABASE_URL: '',
        ...options.runnerEnv,
      }),
    ),
  )
  const edge = await startGenimage('edge', {
    PORT: '0',
    RUNNER_URLS: runners.map((r) => r.url).join(','),
    DATABASE_URL: databaseUrl,
    ...options.edgeEnv,
  })
  return {
    work,
    databaseUrl,
    runners,
    edge,
    stop: async () => {
      await edge.stop()
      await Promise.all(runners.map((r) => r.stop()))
      await rm(work, { recursive: true, force: true })
    },
  }
}

/**
 * Lowers the CPU priority (nice) of every thread of a process, as seen now. On one shared machine this keeps
 * busy runners from starving the edge and the test's clients, as separate hosts would in production.
 */
export async function deprioritise(pid: number, nice = 10): Promise<void> {
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    try {
      setPriority(Number(tid), nice)
    } catch {
      // a thread that exited meanwhile
    }
  }
}

/** Resident set size of a process in MiB, from /proc/<pid>/status (Linux). */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]
  if (!kib) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(kib) / 1024
}

/** The shipped real photographs (JPEG), read once. */
export async function shippedPhotos(limit = 8): Promise<Buffer[]> {
  const dir = join(repoRoot, 'packages/dataset-tools/photos')
  const names = (await readdir(dir))
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .slice(0, limit)
  return Promise.all(names.map((n) => readFile(join(dir, n))))
}

/** Nearest-rank percentile of `values` (q in 0..1). */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
}

/** One multipart upload of `images` (and optional fields) to the edge's /v1/detect. */
export function detectForm(images: { bytes: Uint8Array; filename?: string; type?: string }[], fields: Record<string, string> = {}): FormData {
  const form = new FormData()
  for (const image of images) {
    form.append('image', new Blob([image.bytes as Uint8Array<ArrayBuffer>], image.type ? { type: image.type } : {}), image.filename ?? 'upload')
  }
  for (const [k, v] of Object.entries(fields)) form.append(k, v)
  return form
}
