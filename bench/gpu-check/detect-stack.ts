/**
 * Section `detect`: `POST /v1/detect` images/s through the stack, started as `genimage runner` and `genimage edge`
 * processes on loopback (the way bench/detect-e2e.ts starts them), the runner on `webgpu` by name
 * (EXECUTION_PROVIDERS=webgpu) serving the check's ResNet-50, the edge recording each detection in a libSQL file.
 * Clients send one JPEG per request on kept-alive connections; images/s counts 200 answers only.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import type { SectionResult } from './results.ts'

export interface DetectSettings {
  modelDir: string
  work: string
  clients: number
  seconds: number
  /** Answers to wait for at least, however long they take (the dry run on lavapipe). */
  minAnswers: number
  maxBatch: number
  queueDelayMs: number
}

/** The `genimage` entry: the bundled CLI beside the bundled check, else the repository's bin script. */
export function genimageEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const bundled = join(here, 'genimage.mjs')
  return existsSync(bundled) ? bundled : join(here, '../../packages/cli/bin/genimage.js')
}

interface Server {
  child: ChildProcess
  url: string
  log: () => string
}

function startServer(command: 'runner' | 'edge', env: Record<string, string>, cwd: string): Promise<Server> {
  const child = spawn(process.execPath, [genimageEntry(), command], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  return new Promise((resolve, reject) => {
    const read = (chunk: Buffer) => {
      if (log.length < 200_000) log += chunk.toString()
      const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(log)?.[1]
      if (url) resolve({ child, url, log: () => log })
    }
    child.stdout?.on('data', read)
    child.stderr?.on('data', read)
    child.once('exit', (code) => reject(new Error(`genimage ${command} exited ${code}:\n${log.slice(-4000)}`)))
  })
}

async function stop(server: Server | undefined): Promise<void> {
  if (!server || server.child.exitCode != null) return
  const exited = new Promise((r) => server.child.once('exit', r))
  server.child.kill('SIGTERM')
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}

/** A few photo-like JPEGs (smooth gradients plus noise), made here so nothing travels for them. */
async function makeJpegs(count: number): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: count }, (_, k) => {
      const width = 512
      const height = 384
      const pixels = Buffer.alloc(width * height * 3)
      let seed = 12345 + k
      for (let i = 0; i < width * height; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0
        const noise = (seed >>> 24) / 8
        const x = i % width
        const y = Math.floor(i / width)
        pixels[i * 3] = Math.min(255, (x * 255) / width / 2 + 40 * k + noise)
        pixels[i * 3 + 1] = Math.min(255, (y * 255) / height / 1.5 + noise)
        pixels[i * 3 + 2] = Math.min(255, 128 + 60 * Math.sin((x + y + 50 * k) / 40) + noise)
      }
      return sharp(pixels, { raw: { width, height, channels: 3 } })
        .jpeg({ quality: 90 })
        .toBuffer()
    }),
  )
}

function multipart(photo: Buffer, name: string): { body: Uint8Array<ArrayBuffer>; type: string } {
  const boundary = `----gpu-check-${name}`
  const head = `--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="${name}"\r\ncontent-type: image/jpeg\r\n\r\n`
  const body = new Uint8Array(Buffer.concat([Buffer.from(head), photo, Buffer.from(`\r\n--${boundary}--\r\n`)]))
  return { body, type: `multipart/form-data; boundary=${boundary}` }
}

async function runnerBatches(runnerUrl: string): Promise<{ sum: number; count: number }> {
  const metrics = await (await fetch(`${runnerUrl}/metrics`)).text()
  return {
    sum: Number(/genimage_runner_batch_size_sum\{[^}]*\} (\S+)/.exec(metrics)?.[1] ?? Number.NaN),
    count: Number(/genimage_runner_batch_size_count\{[^}]*\} (\S+)/.exec(metrics)?.[1] ?? Number.NaN),
  }
}

/** Each model with the runners and providers that serve it, from the edge's `GET /v1/models` answer. */
function describeModels(body: string): string {
  try {
    const { models } = JSON.parse(body) as { models: Array<{ name: string; served_by?: Array<Record<string, unknown>> }> }
    return models.map((m) => `${m.name} served by ${(m.served_by ?? []).map((s) => JSON.stringify(s)).join(', ') || 'no runner listed'}`).join('; ')
  } catch {
    return body.slice(0, 400)
  }
}

const percentile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? Number.NaN

/** Starts runner and edge, warms the model up with one request, then measures with `clients` concurrent clients. */
export async function measureDetect(settings: DetectSettings): Promise<SectionResult> {
  const notes: string[] = []
  let runner: Server | undefined
  let edge: Server | undefined
  try {
    const started = performance.now()
    runner = await startServer(
      'runner',
      {
        RUNNER_PORT: '0',
        MODEL_DIR: settings.modelDir,
        EXECUTION_PROVIDERS: 'webgpu',
        MAX_BATCH_SIZE: String(settings.maxBatch),
        MAX_QUEUE_DELAY_MS: String(settings.queueDelayMs),
        MAX_QUEUE_IMAGES: String(Math.max(64, settings.clients * 2)),
        DATABASE_URL: '',
      },
      settings.work,
    )
    const listening = runner
      .log()
      .split('\n')
      .find((l) => l.includes('listening on'))
    notes.push(
      `runner up in ${((performance.now() - started) / 1000).toFixed(1)} s: ${(/"msg":"([^"]*)"/.exec(listening ?? '')?.[1] ?? listening ?? '').slice(0, 400)}`,
    )
    edge = await startServer('edge', { PORT: '0', RUNNER_URLS: runner.url, DATABASE_URL: `file:${join(settings.work, 'gpu-check.db')}` }, settings.work)
    notes.push(`GET /v1/models: ${describeModels(await (await fetch(`${edge.url}/v1/models`)).text())}`)
    const target = `${edge.url}/v1/detect`
    const requests = (await makeJpegs(4)).map((photo, i) => multipart(photo, `photo${i}.jpg`))
    const send = async (n: number) => {
      const request = requests[n % requests.length]!
      const answer = await fetch(target, { method: 'POST', body: request.body, headers: { 'content-type': request.type } })
      const text = await answer.text()
      return { status: answer.status, text }
    }
    const warmStarted = performance.now()
    const first = await send(0)
    if (first.status !== 200) throw new Error(`first /v1/detect answered ${first.status}: ${first.text.slice(0, 500)}`)
    notes.push(`first /v1/detect ${((performance.now() - warmStarted) / 1000).toFixed(1)} s: ${first.text.slice(0, 300)}`)
    const before = await runnerBatches(runner.url)
    const times: number[] = []
    let errors = 0
    let firstError = ''
    let sent = 0
    const t0 = performance.now()
    const until = t0 + settings.seconds * 1000
    await Promise.all(
      Array.from({ length: settings.clients }, async () => {
        while (performance.now() < until || times.length < settings.minAnswers) {
          const t = performance.now()
          const answer = await send(sent++)
          if (answer.status === 200) times.push(performance.now() - t)
          else {
            errors++
            firstError ||= `${answer.status} ${answer.text.slice(0, 300)}`
            if (errors > 50 && times.length === 0) break
          }
        }
      }),
    )
    const elapsed = (performance.now() - t0) / 1000
    const after = await runnerBatches(runner.url)
    const rate = times.length / elapsed
    const meanBatch = (after.sum - before.sum) / (after.count - before.count)
    const detail =
      `${settings.clients} clients, ${times.length} answers in ${elapsed.toFixed(1)} s; per request p50 ${percentile(times, 0.5).toFixed(0)} ms, ` +
      `p99 ${percentile(times, 0.99).toFixed(0)} ms; mean runner batch ${meanBatch.toFixed(2)} (max ${settings.maxBatch}); errors ${errors}${firstError ? ` (first: ${firstError})` : ''}`
    process.stderr.write(`  /v1/detect: ${rate.toFixed(1)} img/s (${detail})\n`)
    if (times.length === 0) throw new Error(`no /v1/detect answered 200: ${firstError}`)
    return { section: 'detect', ok: true, notes, measurements: [{ workload: 'detect', side: 'webgpu', value: rate, unit: 'img/s', detail }] }
  } finally {
    await stop(edge)
    await stop(runner)
  }
}
