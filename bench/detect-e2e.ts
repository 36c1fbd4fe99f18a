/**
 * Detect path benchmark: `POST /v1/detect` over HTTP (edge + runner as separate processes on loopback,
 * concurrent clients, one JPEG per request, the runner batching up to --batch) vs bare onnxruntime-node
 * `session.run` of the same ONNX file at the same batch size in one process, in the same run.
 *
 * What each side includes. Bare: `session.run` on one already-made float tensor of [batch, 3, 224, 224],
 * the same session options the runner uses (createSession), nothing else. The two sides take turns (--rounds,
 * each side --seconds in all), with the edge and runner idle while bare runs, so drift in the machine's speed
 * weighs on both alike; the ratio is total images/s over total images/s, and each round's is printed too. HTTP: everything the product does per image on the same 2 cores: the
 * client's request (prebuilt request bytes written to kept-alive sockets, wrk-style, so the load generator costs
 * little), the edge (multipart parse, sniff, sha256, routing, OIP request to the runner, detection row written
 * to a libSQL file, JSON answer), the runner (OIP parse, JPEG decode + resize + crop + normalise, dynamic
 * batching, session.run on its worker thread, JSON answer). Images/s counts 200 answers only.
 *
 * Models (--models, comma-separated):
 *   handmade  the handmade NPR-residual statistic at 224×224 (cheap: shows the serving overhead)
 *   resnet50  the zoo's ResNet-50 at 224×224 with random initial weights (seed 1): a timing stand-in for a
 *             real detector of that size; its scores mean nothing and the folder is deleted afterwards
 *
 * --spinning on|off|both picks the onnxruntime thread-spinning settings measured (both sides use the same one).
 * On Linux the HTTP measurement also prints where the CPU went, read from /proc before and after the measured
 * window: the benchmark's own clients, the edge process, and the runner's threads (the two busiest are
 * onnxruntime's, i.e. the inference worker thread and its pool thread; "main" is the event loop; the others are
 * summed by thread name: libuv's pool runs the JPEG decodes, V8's threads the garbage collector).
 * BENCH_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") is passed to the edge and runner processes.
 *
 *   npx tsx bench/detect-e2e.ts [--models handmade,resnet50] [--seconds 20] [--rounds 4] [--clients 16] [--batch 8] [--spinning both]
 *   npx tsx bench/detect-e2e.ts --models resnet50 --spinning off     (the issue's number alone, about a minute)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ModelCard } from '@genimage/shared'
import type * as ort from 'onnxruntime-node'
import { Tensor } from 'onnxruntime-node'
import sharp from 'sharp'
import { createSession } from '@genimage/gpu-runner'
import { writeHandmadeModel } from '@genimage/training/export'
import { resolveTfBackend } from '@genimage/training/tf'
import { writeRandomDetectorFolder } from './lib-random-detector.ts'

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'handmade,resnet50' },
    seconds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '16' },
    batch: { type: 'string', default: '8' },
    spinning: { type: 'string', default: 'both' },
    rounds: { type: 'string', default: '4' },
  },
})
const SECONDS = Number(args.seconds)
const CLIENTS = Number(args.clients)
const BATCH = Number(args.batch)
const ROUNDS = Math.max(1, Number(args.rounds))
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
  await writeRandomDetectorFolder(kind, folder, { name: `bench-${kind}`, command: 'npx tsx bench/detect-e2e.ts' })
  return folder
}

interface BareSlice {
  images: number
  seconds: number
  times: number[]
  cpuSeconds: number
}

/** Bare session.run at batch size BATCH on preprocessed tensors: the ceiling the HTTP path is compared with. */
async function openBareSession(folder: string, allowSpinning: boolean): Promise<{ measure(seconds: number): Promise<BareSlice>; release(): Promise<void> }> {
  const card = ModelCard.parse(JSON.parse(await readFile(join(folder, 'card.json'), 'utf8')))
  const { session } = await createSession(await readFile(join(folder, card.file)), ['cpu'], { allowSpinning })
  const { height, width } = card.input
  const data = Float32Array.from({ length: BATCH * 3 * height * width }, (_, i) => Math.sin(i) * 0.5)
  const feeds: Record<string, ort.Tensor> = { [card.input.name]: new Tensor('float32', data, [BATCH, 3, height, width]) }
  for (let i = 0; i < 3; i++) await session.run(feeds)
  return {
    async measure(seconds) {
      const times: number[] = []
      const started = performance.now()
      const until = started + seconds * 1000
      const cpuBefore = process.cpuUsage()
      while (performance.now() < until) {
        const t = performance.now()
        await session.run(feeds)
        times.push(performance.now() - t)
      }
      const cpu = process.cpuUsage(cpuBefore)
      return { images: times.length * BATCH, seconds: (performance.now() - started) / 1000, times, cpuSeconds: (cpu.user + cpu.system) / 1e6 }
    },
    release: () => session.release(),
  }
}

const CLOCK_TICKS = 100

/** CPU seconds and name of each thread of a process (Linux /proc; empty elsewhere), keyed by thread id. */
async function threadCpu(pid: number | undefined): Promise<Map<number, { name: string; seconds: number }>> {
  const out = new Map<number, { name: string; seconds: number }>()
  if (!pid || !existsSync(`/proc/${pid}/task`)) return out
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    out.set(Number(tid), { name, seconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS })
  }
  return out
}

function cpuDelta(
  before: Map<number, { seconds: number }>,
  after: Map<number, { name: string; seconds: number }>,
): Map<number, { name: string; seconds: number }> {
  return new Map([...after].map(([tid, t]) => [tid, { name: t.name, seconds: t.seconds - (before.get(tid)?.seconds ?? 0) }]))
}

/**
 * One line: CPU cores used per process over the window. The runner's two busiest threads are onnxruntime's
 * (the inference worker thread and its pool thread); the rest are summed by thread name: "main" is the event
 * loop, libuv's pool threads run the JPEG decodes, V8's run the garbage collector and compiler.
 */
function describeCpu(
  seconds: number,
  client: number,
  edge: Map<number, { seconds: number }>,
  runner: Map<number, { name: string; seconds: number }>,
  runnerPid: number | undefined,
): string {
  const sum = (m: Map<number, { seconds: number }>) => [...m.values()].reduce((a, t) => a + t.seconds, 0)
  const cores = (s: number) => (s / seconds).toFixed(2)
  const others = [...runner].filter(([tid]) => tid !== runnerPid).sort((a, b) => b[1].seconds - a[1].seconds)
  const onnxruntime = others.slice(0, 2)
  const byName = new Map<string, number>()
  for (const [, t] of others.slice(2)) byName.set(t.name, (byName.get(t.name) ?? 0) + t.seconds)
  const rest = [...byName]
    .filter(([, s]) => s / seconds >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([name, s]) => `${name} ${cores(s)}`)
  const parts = [`onnxruntime ${onnxruntime.map(([, t]) => cores(t.seconds)).join(' + ')}`, `main ${cores(runner.get(runnerPid ?? -1)?.seconds ?? 0)}`, ...rest]
  return `CPU (cores busy): bench clients ${cores(client)}, edge ${cores(sum(edge))}, runner ${cores(sum(runner))} (${parts.join(', ')})`
}

function start(command: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), cli, command], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
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

interface HttpSlice {
  images: number
  seconds: number
  times: number[]
  errors: number
  batchSum: number
  batchCount: number
  cpu: { client: number; edge: Map<number, { name: string; seconds: number }>; runner: Map<number, { name: string; seconds: number }> }
}

/** Runner and edge as processes on loopback, with CLIENTS kept-alive connections to the edge. */
async function startHttpStack(
  modelDir: string,
  photos: Uint8Array[],
  allowSpinning: boolean,
): Promise<{ measure(seconds: number): Promise<HttpSlice>; runnerPid?: number; stop(): Promise<void> }> {
  const work = await mkdtemp(join(tmpdir(), 'genimage-bench-e2e-db-'))
  const runner = await start('runner', {
    RUNNER_PORT: '0',
    MODEL_DIR: modelDir,
    EXECUTION_PROVIDERS: 'cpu',
    MAX_BATCH_SIZE: String(BATCH),
    MAX_QUEUE_DELAY_MS: '2',
    MAX_QUEUE_IMAGES: String(Math.max(64, CLIENTS * 2)),
    DATABASE_URL: '',
    ORT_ALLOW_SPINNING: allowSpinning ? '1' : '0',
  })
  const edge = await start('edge', { PORT: '0', RUNNER_URLS: runner.url, DATABASE_URL: `file:${join(work, 'bench.db')}` })
  const target = new URL('/v1/detect', edge.url)
  const requests = photos.map((photo, i) => rawRequest(target, photo, `p${i}.jpg`))
  const connections = await Promise.all(Array.from({ length: CLIENTS }, () => KeepAliveConnection.open(target)))
  let n = 0
  const send = (connection: KeepAliveConnection) => connection.send(requests[n++ % requests.length] as Buffer)
  const batches = async () => {
    const metrics = await (await fetch(`${runner.url}/metrics`)).text()
    const sum = Number(/genimage_runner_batch_size_sum\{[^}]*\} (\S+)/.exec(metrics)?.[1])
    const count = Number(/genimage_runner_batch_size_count\{[^}]*\} (\S+)/.exec(metrics)?.[1])
    return { sum, count }
  }
  for (const connection of connections) await send(connection)
  return {
    runnerPid: runner.child.pid,
    async measure(seconds) {
      const before = await batches()
      const cpuBefore = { client: process.cpuUsage(), edge: await threadCpu(edge.child.pid), runner: await threadCpu(runner.child.pid) }
      const times: number[] = []
      let errors = 0
      const started = performance.now()
      const until = started + seconds * 1000
      await Promise.all(
        connections.map(async (connection) => {
          while (performance.now() < until) {
            const t = performance.now()
            const status = await send(connection)
            if (status === 200) times.push(performance.now() - t)
            else errors++
          }
        }),
      )
      const elapsed = (performance.now() - started) / 1000
      const client = process.cpuUsage(cpuBefore.client)
      const cpu = {
        client: (client.user + client.system) / 1e6,
        edge: cpuDelta(cpuBefore.edge, await threadCpu(edge.child.pid)),
        runner: cpuDelta(cpuBefore.runner, await threadCpu(runner.child.pid)),
      }
      const after = await batches()
      return { images: times.length, seconds: elapsed, times, errors, batchSum: after.sum - before.sum, batchCount: after.count - before.count, cpu }
    },
    async stop() {
      for (const p of [edge, runner]) {
        const exited = new Promise((r) => p.child.once('exit', r))
        p.child.kill('SIGTERM')
        await exited
      }
      for (const connection of connections) connection.close()
      await rm(work, { recursive: true, force: true })
    },
  }
}

/**
 * One whole HTTP/1.1 request as bytes, built once per photo: a POST of the multipart body a browser or curl sends
 * for one `image` file part. The clients are a load generator sharing the 2 cores with the server, so like wrk
 * they write prebuilt bytes to kept-alive sockets and read little more than the status line: node:http's client
 * cost about 1 ms of CPU per request here, which the server's cores would lose.
 */
function rawRequest(target: URL, photo: Uint8Array, filename: string): Buffer {
  const boundary = `----genimage-bench-${createHash('sha256').update(photo).digest('hex').slice(0, 24)}`
  const head = `--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="${filename}"\r\ncontent-type: image/jpeg\r\n\r\n`
  const body = Buffer.concat([Buffer.from(head), photo, Buffer.from(`\r\n--${boundary}--\r\n`)])
  const headers = `POST ${target.pathname} HTTP/1.1\r\nhost: ${target.host}\r\ncontent-type: multipart/form-data; boundary=${boundary}\r\ncontent-length: ${body.byteLength}\r\n\r\n`
  return Buffer.concat([Buffer.from(headers), body])
}

/**
 * A kept-alive HTTP/1.1 connection that sends one request at a time and resolves with the answer's status once
 * its whole body (content-length or chunked) has arrived. Just enough HTTP for this benchmark's server. A
 * connection the server closed while idle (Node's keep-alive timeout is 5 s) is opened again before the next send.
 */
class KeepAliveConnection {
  private buffered: Buffer = Buffer.alloc(0)
  private waiting?: { resolve: (status: number) => void; reject: (error: Error) => void }
  private socket!: Socket
  private open = false

  private constructor(private readonly target: URL) {}

  static async open(target: URL): Promise<KeepAliveConnection> {
    const connection = new KeepAliveConnection(target)
    await connection.connect()
    return connection
  }

  private connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect(Number(this.target.port), this.target.hostname, () => {
        this.open = true
        resolve()
      })
      socket.setNoDelay(true)
      socket.on('data', (chunk: Buffer) => {
        this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
        this.tryFinish()
      })
      const fail = (error: Error) => {
        this.open = false
        this.buffered = Buffer.alloc(0)
        this.waiting?.reject(error)
        this.waiting = undefined
        reject(error)
      }
      socket.on('error', fail)
      socket.on('close', () => fail(new Error('connection closed by the server')))
      this.socket = socket
    })
  }

  async send(request: Buffer): Promise<number> {
    if (!this.open) await this.connect()
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject }
      this.socket.write(request)
    })
  }

  close(): void {
    this.socket.destroy()
  }

  private tryFinish(): void {
    const end = this.buffered.indexOf('\r\n\r\n')
    if (end < 0 || !this.waiting) return
    const head = this.buffered.subarray(0, end).toString('latin1')
    const status = Number(head.slice(9, 12))
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)
    let total: number
    if (length) total = end + 4 + Number(length[1])
    else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const last = this.buffered.indexOf('\r\n0\r\n\r\n', end)
      if (last < 0) return
      total = last + 7
    } else total = end + 4
    if (this.buffered.length < total) return
    this.buffered = this.buffered.subarray(total)
    const { resolve } = this.waiting
    this.waiting = undefined
    resolve(status)
  }
}

const dir = await mkdtemp(join(tmpdir(), 'genimage-bench-e2e-'))
try {
  const photoDir = join(root, 'packages/dataset-tools/photos')
  const names = (await readdir(photoDir))
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .slice(0, 16)
  const photos = await Promise.all(
    names.map(async (n) => new Uint8Array(await sharp(join(photoDir, n)).resize(512, 512, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer())),
  )
  console.log(
    `${availableParallelism()} cores; batch ${BATCH}; ${CLIENTS} concurrent clients (one 512×512 JPEG per request); ${SECONDS} s per side in ${ROUNDS} alternating rounds`,
  )
  for (const kind of (args.models as string).split(',')) {
    const folder = await writeBenchModel(kind, dir)
    const spinning = { on: [true], off: [false], both: [true, false] }[args.spinning as string]
    if (!spinning) throw new Error(`--spinning must be on, off or both (got ${args.spinning})`)
    for (const allowSpinning of spinning) {
      // Bare and HTTP take turns, ROUNDS times each, so that drift in the machine's speed during the run (other
      // tenants, thermal) weighs on both sides alike. The edge and runner stay up, idle while bare runs.
      const bare = await openBareSession(folder, allowSpinning)
      const stack = await startHttpStack(dir, photos, allowSpinning)
      const bareSlices: BareSlice[] = []
      const httpSlices: HttpSlice[] = []
      try {
        for (let round = 0; round < ROUNDS; round++) {
          bareSlices.push(await bare.measure(SECONDS / ROUNDS))
          httpSlices.push(await stack.measure(SECONDS / ROUNDS))
        }
      } finally {
        await stack.stop()
        await bare.release()
      }
      const total = <T extends { images: number; seconds: number }>(slices: T[]) =>
        slices.reduce((a, x) => ({ images: a.images + x.images, seconds: a.seconds + x.seconds }), { images: 0, seconds: 0 })
      const bareTotal = total(bareSlices)
      const httpTotal = total(httpSlices)
      const bareRate = bareTotal.images / bareTotal.seconds
      const httpRate = httpTotal.images / httpTotal.seconds
      const bareTimes = bareSlices.flatMap((x) => x.times)
      const httpTimes = httpSlices.flatMap((x) => x.times)
      const bareCores = bareSlices.reduce((a, x) => a + x.cpuSeconds, 0) / bareTotal.seconds
      const merged = (pick: (x: HttpSlice) => Map<number, { name: string; seconds: number }>) => {
        const out = new Map<number, { name: string; seconds: number }>()
        for (const slice of httpSlices) for (const [tid, t] of pick(slice)) out.set(tid, { name: t.name, seconds: (out.get(tid)?.seconds ?? 0) + t.seconds })
        return out
      }
      const cpu = describeCpu(
        httpTotal.seconds,
        httpSlices.reduce((a, x) => a + x.cpu.client, 0),
        merged((x) => x.cpu.edge),
        merged((x) => x.cpu.runner),
        stack.runnerPid,
      )
      const rounds = bareSlices.map((b, i) => {
        const h = httpSlices[i] as HttpSlice
        return h.images / h.seconds / (b.images / b.seconds)
      })
      const meanBatch = httpSlices.reduce((a, x) => a + x.batchSum, 0) / httpSlices.reduce((a, x) => a + x.batchCount, 0)
      console.log(`\n[${kind}, onnxruntime thread spinning ${allowSpinning ? 'on (ORT_ALLOW_SPINNING=1)' : 'off (the runner default)'}]`)
      console.log(
        `  bare session.run, batch ${BATCH}:   ${bareRate.toFixed(1)} img/s (rounds ${bareSlices.map((x) => (x.images / x.seconds).toFixed(1)).join(', ')}); per batch p50 ${percentile(bareTimes, 0.5).toFixed(1)} ms, p99 ${percentile(bareTimes, 0.99).toFixed(1)} ms; CPU ${bareCores.toFixed(2)} cores busy`,
      )
      console.log(
        `  /v1/detect over HTTP:           ${httpRate.toFixed(1)} img/s (rounds ${httpSlices.map((x) => (x.images / x.seconds).toFixed(1)).join(', ')}); per request p50 ${percentile(httpTimes, 0.5).toFixed(1)} ms, p99 ${percentile(httpTimes, 0.99).toFixed(1)} ms; errors ${httpSlices.reduce((a, x) => a + x.errors, 0)}; mean runner batch ${meanBatch.toFixed(2)}`,
      )
      console.log(`  ${cpu}`)
      console.log(`  ratio HTTP / bare: ${(httpRate / bareRate).toFixed(3)}× (target ≥ 0.85×); by round ${rounds.map((r) => r.toFixed(3)).join(', ')}`)
    }
    await rm(folder, { recursive: true, force: true })
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
