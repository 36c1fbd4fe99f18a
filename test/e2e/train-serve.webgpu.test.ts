import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DetectResponse, ModelCard, ModelsResponse } from '@genimage/shared'
import { makeSyntheticDataset } from '@genimage/training/train'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot, type Started, startGenimage } from '../support/processes.ts'

const skip = process.env.GENIMAGE_SKIP_WEBGPU === '1'
const cli = join(repoRoot, 'packages/cli/bin/genimage.js')
const started = performance.now()

interface TrainRun {
  code: number | null
  events: Array<{ type: string; backend?: string; step?: number }>
  stdout: string
  stderr: string
}

/** `genimage train --backend webgpu --json`: one epoch of npr-tiny, two steps of 8 images. */
function trainOnWebGpu(data: string, out: string): Promise<TrainRun> {
  const args = [
    'train',
    '--model',
    'npr-tiny',
    '--data',
    data,
    '--train-on',
    'GenA',
    '--out',
    out,
    '--name',
    'npr-tiny-webgpu',
    '--epochs',
    '1',
    '--batch-size',
    '8',
    '--backend',
    'webgpu',
    '--json',
  ]
  const child = spawn(process.execPath, [cli, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return new Promise((done) =>
    child.on('close', (code) => {
      const events = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as TrainRun['events'][number])
      done({ code, events, stdout, stderr })
    }),
  )
}

describe.skipIf(skip)('genimage train --backend webgpu (lavapipe is enough) exports a model the runner serves', () => {
  let work: string
  let data: string
  let run: TrainRun
  let runner: Started | undefined
  let edge: Started | undefined

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'genimage-webgpu-'))
    data = await makeSyntheticDataset({ generators: ['GenA'], size: 64, trainPerClass: 8, valPerClass: 4 })
    run = await trainOnWebGpu(data, join(work, 'models/npr-tiny-webgpu'))
  }, 300_000)

  afterAll(async () => {
    await edge?.stop()
    await runner?.stop()
    await rm(work, { recursive: true, force: true })
    await rm(data, { recursive: true, force: true })
    console.log(`train-serve.webgpu.test.ts: wall time ${((performance.now() - started) / 1000).toFixed(1)} s`)
  })

  it('trains on webgpu, asked for by name, and writes the model folder', async () => {
    if (/tf_backend_unavailable|no WebGPU adapter|did not load/.test(run.stderr)) {
      throw new Error(`the WebGPU tests need a WebGPU adapter (set GENIMAGE_SKIP_WEBGPU=1 to skip them):\n${run.stderr}`)
    }
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toMatch(/^tfjs backend: webgpu \(threads: native, device: .+, asked for by name\)/m)
    expect(run.events.find((e) => e.type === 'start')).toMatchObject({ backend: 'webgpu' })
    expect(run.events.filter((e) => e.type === 'step').map((e) => e.step)).toEqual([1, 2])
    expect(run.stdout).toContain(`wrote ${join(work, 'models/npr-tiny-webgpu')}`)
    const card = ModelCard.parse(JSON.parse(await readFile(join(work, 'models/npr-tiny-webgpu/card.json'), 'utf8')))
    expect(card.architecture).toBe('npr-tiny')
    expect(card.provenance.kind).toBe('trained')
  })

  it('is served by the runner (on cpu) and scores an image over HTTP', async () => {
    expect(run.code, run.stderr).toBe(0)
    runner = await startGenimage('runner', { RUNNER_PORT: '0', MODEL_DIR: join(work, 'models'), EXECUTION_PROVIDERS: 'cpu' })
    edge = await startGenimage('edge', { PORT: '0', RUNNER_URLS: runner.url, DATABASE_URL: `file:${join(work, 'db.sqlite')}` })
    const models = ModelsResponse.parse(await (await fetch(`${edge.url}/v1/models`)).json())
    expect(models.models.map((m) => [m.name, m.provenance])).toEqual([['npr-tiny-webgpu', 'trained']])
    const folder = join(data, 'GenA/val/ai')
    const image = await readFile(join(folder, (await readdir(folder)).sort()[0] as string))
    const form = new FormData()
    form.append('image', new Blob([image]), 'generated.jpg')
    const res = await fetch(`${edge.url}/v1/detect`, { method: 'POST', body: form })
    expect(res.status).toBe(200)
    const result = DetectResponse.parse(await res.json())
    expect(result.model.name).toBe('npr-tiny-webgpu')
    const scores = result.images[0]?.scores ?? {}
    expect((scores.ai ?? 0) + (scores.nature ?? 0)).toBeCloseTo(1, 5)
  })
})
