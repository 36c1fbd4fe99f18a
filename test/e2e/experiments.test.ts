import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { makeSyntheticDataset } from '@genimage/training/train'
import { ExperimentDetail } from '@genimage/shared'
import { createDb, isFinalState, metrics } from '@genimage/shared/db'
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot, type Started, startGenimage } from '../support/processes.ts'

const cli = join(repoRoot, 'packages/cli/bin/genimage.js')
const run = promisify(execFile)

let work: string
let data: string
let databaseUrl: string
let edge: Started
const workers: ChildProcess[] = []

/** `genimage experiment worker` as its own process; resolves once it polls the queue. */
function startWorker(name: string, leaseMs: number): Promise<{ child: ChildProcess; logs: () => string }> {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL')
  const child = spawn(
    process.execPath,
    [
      cli,
      'experiment',
      'worker',
      '--db',
      databaseUrl,
      '--artifacts',
      join(work, 'artifacts'),
      '--name',
      name,
      '--lease-ms',
      String(leaseMs),
      '--heartbeat-ms',
      '300',
      '--poll-ms',
      '200',
      '--backend',
      'wasm',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] },
  )
  workers.push(child)
  let logs = ''
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      logs += chunk.toString()
      if (logs.includes('train worker polling')) resolve({ child, logs: () => logs })
    })
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code}:\n${logs}`)))
  })
}

async function genimage(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [cli, ...args, '--api', edge.url], { cwd: repoRoot, maxBuffer: 1 << 24 })
}

async function detail(id: string): Promise<ExperimentDetail> {
  return ExperimentDetail.parse(await (await fetch(`${edge.url}/v1/experiments/${id}`)).json())
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const started = Date.now()
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'genimage-exp-e2e-'))
  databaseUrl = `file:${join(work, 'genimage.db')}`
  data = await makeSyntheticDataset({ generators: ['SD_V1.4', 'GenB'], size: 64, trainPerClass: 16, valPerClass: 8 })
  edge = await startGenimage('edge', { PORT: '0', DATABASE_URL: databaseUrl, RUNNER_URLS: '' })
})

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL')
  await edge?.stop()
  await rm(work, { recursive: true, force: true })
  await rm(data, { recursive: true, force: true })
})

describe('experiments through the edge API and runner processes', () => {
  it('a runner killed during training: another resumes from the checkpoint after the lease expires; one metric row per cell; an edge restart loses nothing', async () => {
    const a = await startWorker('runner-a', 3_000)
    const submitted = await genimage(
      'experiment',
      'run',
      'table3',
      '--models',
      'npr-tiny',
      '--data',
      data,
      '--epochs',
      '6',
      '--batch-size',
      '8',
      '--checkpoint-every',
      '2',
      '--detach',
    )
    const id = submitted.stdout.trim()
    expect(id).toMatch(/^exp_/)
    // kill runner A once it has checkpointed (every 2 steps) and is mid-training
    const killedRun = await until('training past step 4', async () => {
      const r = (await detail(id)).runDetails[0]!
      return r.state === 'running' && r.progress.step >= 5 && r.progress.step < r.progress.totalSteps - 2 ? r : undefined
    })
    a.child.kill('SIGKILL')
    const killedAtStep = killedRun.progress.step
    // the edge restarts too, on a new port, over the same database file
    await edge.stop()
    edge = await startGenimage('edge', { PORT: '0', DATABASE_URL: databaseUrl, RUNNER_URLS: '' })
    const b = await startWorker('runner-b', 3_000)
    const finished = await until('the experiment to finish', async () => {
      const d = await detail(id)
      return isFinalState(d.state) ? d : undefined
    })
    const r = finished.runDetails[0]!
    expect(finished.state).toBe('succeeded')
    expect(r.attempts).toBe(2)
    expect(r.failureReason).toMatch(/attempt 1: lease of runner-a expired/)
    expect(r.progress.resumedFromStep).toBeGreaterThanOrEqual(4)
    console.log(`runner-a killed at step ${killedAtStep}; runner-b resumed from checkpoint step ${r.progress.resumedFromStep} of ${r.progress.totalSteps}`)
    expect(b.logs()).toMatch(/"msg":"claimed".*"attempt":2/)
    const db = await createDb(databaseUrl)
    const rows = await db.select().from(metrics).where(eq(metrics.experimentId, id))
    db.$client.close()
    expect(rows.map((m) => `${m.testSet}|${m.degradation}`).sort()).toEqual(['GenB|none', 'SD_V1.4|none'])
    b.child.kill('SIGTERM')
  })

  it('`experiment run table4` and `table5` follow progress over SSE to the end, and `report` writes markdown and SVG charts', async () => {
    const worker = await startWorker('runner-c', 10_000)
    const started = performance.now()
    const followed = await genimage(
      'experiment',
      'run',
      'table4',
      '--models',
      'npr-tiny',
      '--data',
      data,
      '--epochs',
      '2',
      '--batch-size',
      '8',
      '--name',
      'e2e table 4',
    )
    const seconds = (performance.now() - started) / 1000
    const id = /submitted (exp_\w+)/.exec(followed.stderr)?.[1]
    expect(id).toBeDefined()
    // one line per change of each run's state: both runs were seen training and then succeeding
    expect(followed.stderr).toMatch(/run {2}0 npr-tiny on GenB s0: training epoch/)
    expect(followed.stderr).toMatch(/run {2}1 npr-tiny on SD_V1.4 s0: succeeded \(2 metrics\)/)
    expect(followed.stderr).toMatch(new RegExp(`${id} succeeded after`))
    console.log(`table4 (2 generators × npr-tiny, 2 epochs, 16+16 train / 8+8 val images per generator) end to end through the CLI: ${seconds.toFixed(1)} s`)

    const out = join(work, 'report')
    const report = await genimage('report', id!, '--out', out)
    expect(report.stdout).toMatch(/wrote .*report\.md and table4-heatmap-npr-tiny\.svg, training-curves\.svg/)
    const markdown = await readFile(join(out, 'report.md'), 'utf8')
    expect(markdown).toMatch(/## Table 4/)
    expect(markdown).toMatch(/not GenImage: the paper's numbers are not comparable/)
    const svg = await readFile(join(out, 'table4-heatmap-npr-tiny.svg'), 'utf8')
    expect(svg.startsWith('<svg')).toBe(true)
    expect((svg.match(/<rect class="cell"/g) ?? []).length).toBe(4) // 2 × 2 cells
    expect(await readdir(out)).toEqual(expect.arrayContaining(['report.md', 'training-curves.svg']))
    console.log(report.stderr.trim())

    const table5Started = performance.now()
    const table5 = await genimage('experiment', 'run', 'table5', '--models', 'npr-tiny', '--data', data, '--epochs', '2', '--batch-size', '8')
    console.log(
      `table5 (npr-tiny trained on SD_V1.4, 7 test conditions) end to end through the CLI: ${((performance.now() - table5Started) / 1000).toFixed(1)} s`,
    )
    const table5Id = /submitted (exp_\w+)/.exec(table5.stderr)?.[1]
    expect(table5.stderr).toMatch(/succeeded \(7 metrics\)/)
    const out5 = join(work, 'report5')
    await genimage('report', table5Id!, '--out', out5)
    const markdown5 = await readFile(join(out5, 'report.md'), 'utf8')
    expect(markdown5).toContain('| model | original | downscale 112 | downscale 64 | JPEG q65 | JPEG q30 | blur σ=3 | blur σ=5 |')
    expect(await readdir(out5)).toEqual(expect.arrayContaining(['table5-degradations.svg']))
    worker.child.kill('SIGTERM')
  })

  it('`experiment cancel` during training stops the run within one heartbeat; nothing half-written is reported', async () => {
    const worker = await startWorker('runner-d', 3_000)
    const { stdout } = await genimage('experiment', 'run', 'table3', '--models', 'npr-tiny', '--data', data, '--epochs', '30', '--batch-size', '8', '--detach')
    const id = stdout.trim()
    await until('training to start', async () => ((await detail(id)).runDetails[0]!.progress.step >= 2 ? true : undefined))
    const cancel = await genimage('experiment', 'cancel', id)
    expect(cancel.stdout).toMatch(/cancelled \(1 run/)
    const stopped = await until('the worker to stop the run', async () => (worker.logs().includes('stopped: run cancelled') ? true : undefined), 10_000)
    expect(stopped).toBe(true)
    const d = await detail(id)
    expect(d).toMatchObject({ state: 'cancelled', runs: { cancelled: 1 } })
    expect(d.runDetails[0]!.metrics).toEqual([])
    worker.child.kill('SIGTERM')
  })

  it('table3, table4 and table5 run end to end on a small GenImage-mini built by `dataset mini`', async () => {
    const mini = join(work, 'mini')
    await run(
      process.execPath,
      [cli, 'dataset', 'mini', mini, '--generators', 'Bicubic,RDN-slim', '--per-class-train', '24', '--per-class-val', '12', '--no-progress'],
      { cwd: repoRoot },
    )
    const worker = await startWorker('runner-e', 10_000)
    const common = ['--models', 'npr-tiny', '--data', mini, '--epochs', '2', '--batch-size', '8']
    const started = performance.now()
    const table3 = await genimage('experiment', 'run', 'table3', ...common, '--train-on', 'RDN-slim')
    expect(table3.stderr).toMatch(/succeeded \(2 metrics\)/)
    const table4 = await genimage('experiment', 'run', 'table4', ...common)
    expect(table4.stderr.match(/succeeded \(2 metrics\)/g)?.length).toBe(2)
    const table5 = await genimage('experiment', 'run', 'table5', ...common, '--train-on', 'RDN-slim')
    expect(table5.stderr).toMatch(/succeeded \(7 metrics\)/)
    console.log(`table3 + table4 + table5 on GenImage-mini (2 generators, 24/12 per class): ${((performance.now() - started) / 1000).toFixed(1)} s`)
    const id = /submitted (exp_\w+)/.exec(table4.stderr)?.[1]
    const d = await detail(id!)
    const cells = d.runDetails.flatMap((r) => r.metrics.map((m) => `${r.trainOn.join('+')}→${m.testSet}`)).sort()
    expect(cells).toEqual(['Bicubic→Bicubic', 'Bicubic→RDN-slim', 'RDN-slim→Bicubic', 'RDN-slim→RDN-slim'])
    worker.child.kill('SIGTERM')
  })
})
