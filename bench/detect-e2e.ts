/**
 * Detect path benchmark: `POST /v1/detect` over HTTP (edge + runner as separate processes on loopback,
 * concurrent clients, one JPEG per request, the runner batching up to --batch) vs bare onnxruntime-node
 * `session.run` of the same ONNX file at the same batch size in one process, in the same run.
 *
 * Models (--models, comma-separated):
 *   handmade  the handmade NPR-residual statistic at 224×224 (cheap: shows the serving overhead)
 *   resnet50  the zoo's ResNet-50 at 224×224 with random initial weights (seed 1): a timing stand-in for a
 *             real detector of that size; its scores mean nothing and the folder is deleted afterwards
 *
 *   npx tsx bench/detect-e2e.ts [--models handmade,resnet50] [--seconds 8] [--clients 16] [--batch 8]
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ModelCard } from '@genimage/shared'
import type * as ort from 'onnxruntime-node'
import { Tensor } from 'onnxruntime-node'
import sharp from 'sharp'
import { exportDetectorToOnnx } from '../packages/gpu-runner/src/export/index.ts'
import { createSession } from '../packages/gpu-runner/src/inference/execution-providers.ts'
import { writeHandmadeModel } from '../packages/gpu-runner/src/models/handmade.ts'
import { resolveTfBackend } from '../packages/gpu-runner/src/tf/index.ts'
import { createDetector } from '../packages/gpu-runner/src/zoo/index.ts'

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'handmade,resnet50' },
    seconds: { type: 'string', default: '8' },
    clients: { type: 'string', default: '16' },
    batch: { type: 'string', default: '8' },
  },
})
const SECONDS = Number(args.seconds)
const CLIENTS = Number(args.clients)
const BATCH = Number(args.batch)
const root = fileURLToPath(new URL('..', import.meta.url))
const cli = join(root, 'packages/cli/bin/genimage.js')

const percentile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))] ?? Number.NaN

async function writeBenchModel(kind: string, dir: string): Promise<string> {
  const folder = join(dir, kind)
  if (kind === 'handmade') {
    await writeHandmadeModel(folder, { size: 224, name: 'bench-handmade' })
    return folder
  }
  await resolveTfBackend({ priority: ['wasm', 'cpu'], log: () => {} })
  const detector = await createDetector(kind, { seed: 1 })
  const bytes = exportDetectorToOnnx(detector)
  const card = ModelCard.parse({
    name: `bench-${kind}`,
    version: '0',
    description: `${kind} with random initial weights (seed 1), untrained: a timing stand-in for benchmarks only, never a detector.`,
    architecture: kind,
    task: 'binary',
    labels: detector.labels,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    input: detector.info.input,
    output: { name: 'logits' },
    provenance: { kind: 'handmade', createdAt: new Date().toISOString(), command: 'npx tsx bench/detect-e2e.ts', notes: 'random initialisation, benchmark only' },
    metrics: [],
  })
  await mkdir(folder, { recursive: true })
  await writeFile(join(folder, card.file), bytes)
  await writeFile(join(folder, 'card.json'), JSON.stringify(card, null, 2))
  return folder
}

/** Bare session.run at batch size BATCH on preprocessed tensors: the ceiling the HTTP path is compared with. */
async function bareSessionRun(folder: string, allowSpinning: boolean): Promise<{ imagesPerSecond: number; p50: number; p99: number }> {
  const card = ModelCard.parse(JSON.parse(await readFile(join(folder, 'card.json'), 'utf8')))
  const { session } = await createSession(await readFile(join(folder, card.file)), ['cpu'], { allowSpinning })
  const { height, width } = card.input
  const data = Float32Array.from({ length: BATCH * 3 * height * width }, (_, i) => Math.sin(i) * 0.5)
  const feeds: Record<string, ort.Tensor> = { [card.input.name]: new Tensor('float32', data, [BATCH, 3, height, width]) }
  for (let i = 0; i < 3; i++) await session.run(feeds)
  const times: number[] = []
  const until = performance.now() + SECONDS * 1000
  const started = performance.now()
  while (performance.now() < until) {
    const t = performance.now()
    await session.run(feeds)
    times.push(performance.now() - t)
  }
  const seconds = (performance.now() - started) / 1000
  await session.release()
  return { imagesPerSecond: (times.length * BATCH) / seconds, p50: percentile(times, 0.5), p99: percentile(times, 0.99) }
}

function start(command: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, command], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      if (log.length < 100_000) log += chunk.toString()
      const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(log)?.[1]
      if (url) resolve({ child, url })
    })
    child.once('exit', (code) => reject(new Error(`${command} exited ${code}:\n${log}`)))
  })
}

async function overHttp(modelDir: string, photos: Uint8Array[], allowSpinning: boolean): Promise<{ imagesPerSecond: number; p50: number; p99: number; errors: number; meanBatch: number }> {
  const work = await mkdtemp(join(tmpdir(), 'genimage-bench-e2e-db-'))
  const runner = await start('runner', {
    RUNNER_PORT: '0', MODEL_DIR: modelDir, EXECUTION_PROVIDERS: 'cpu', MAX_BATCH_SIZE: String(BATCH),
    MAX_QUEUE_DELAY_MS: '2', MAX_QUEUE_IMAGES: String(Math.max(64, CLIENTS * 2)), DATABASE_URL: '',
    ORT_ALLOW_SPINNING: allowSpinning ? '1' : '0',
  })
  const edge = await start('edge', { PORT: '0', RUNNER_URLS: runner.url, DATABASE_URL: `file:${join(work, 'bench.db')}` })
  const send = async (i: number) => {
    const form = new FormData()
    form.append('image', new Blob([photos[i % photos.length] as Uint8Array<ArrayBuffer>]), `p${i}.jpg`)
    const res = await fetch(`${edge.url}/v1/detect`, { method: 'POST', body: form })
    await res.arrayBuffer()
    return res.status
  }
  try {
    for (let i = 0; i < CLIENTS; i++) await send(i)
    const batches = async () => {
      const metrics = await (await fetch(`${runner.url}/metrics`)).text()
      const sum = Number(/genimage_runner_batch_size_sum\{[^}]*\} (\S+)/.exec(metrics)?.[1])
      const count = Number(/genimage_runner_batch_size_count\{[^}]*\} (\S+)/.exec(metrics)?.[1])
      return { sum, count }
    }
    const before = await batches()
    const times: number[] = []
    let errors = 0
    let n = 0
    const started = performance.now()
    const until = started + SECONDS * 1000
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < until) {
          const t = performance.now()
          const status = await send(n++)
          if (status === 200) times.push(performance.now() - t)
          else errors++
        }
      }),
    )
    const seconds = (performance.now() - started) / 1000
    const after = await batches()
    const meanBatch = (after.sum - before.sum) / (after.count - before.count)
    return { imagesPerSecond: times.length / seconds, p50: percentile(times, 0.5), p99: percentile(times, 0.99), errors, meanBatch }
  } finally {
    for (const p of [edge, runner]) {
      const exited = new Promise((r) => p.child.once('exit', r))
      p.child.kill('SIGTERM')
      await exited
    }
    await rm(work, { recursive: true, force: true })
  }
}

const dir = await mkdtemp(join(tmpdir(), 'genimage-bench-e2e-'))
try {
  const photoDir = join(root, 'packages/dataset-tools/photos')
  const names = (await readdir(photoDir)).filter((f) => f.endsWith('.jpg')).sort().slice(0, 16)
  const photos = await Promise.all(names.map(async (n) => new Uint8Array(await sharp(join(photoDir, n)).resize(512, 512, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer())))
  console.log(`${availableParallelism()} cores; batch ${BATCH}; ${CLIENTS} concurrent clients (one 512×512 JPEG per request); ${SECONDS} s per measurement`)
  for (const kind of (args.models as string).split(',')) {
    const folder = await writeBenchModel(kind, dir)
    for (const allowSpinning of [true, false]) {
      const bare = await bareSessionRun(folder, allowSpinning)
      const http = await overHttp(dir, photos, allowSpinning)
      console.log(`\n[${kind}, onnxruntime thread spinning ${allowSpinning ? 'on (default)' : 'off (ORT_ALLOW_SPINNING=0)'}]`)
      console.log(`  bare session.run, batch ${BATCH}:   ${bare.imagesPerSecond.toFixed(1)} img/s; per batch p50 ${bare.p50.toFixed(1)} ms, p99 ${bare.p99.toFixed(1)} ms`)
      console.log(`  /v1/detect over HTTP:           ${http.imagesPerSecond.toFixed(1)} img/s; per request p50 ${http.p50.toFixed(1)} ms, p99 ${http.p99.toFixed(1)} ms; errors ${http.errors}; mean runner batch ${http.meanBatch.toFixed(2)}`)
      console.log(`  ratio HTTP / bare: ${(http.imagesPerSecond / bare.imagesPerSecond).toFixed(3)}× (target ≥ 0.85×)`)
    }
    await rm(folder, { recursive: true, force: true })
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
