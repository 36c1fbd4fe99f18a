// Benchmark: the runner's metrics on prom-client (packages/gpu-runner/src/server/metrics.ts) vs the hand-written
// registry it replaced (the same file at HAND_WRITTEN_COMMIT): import time, the updates one inference request
// makes, one /metrics render, and whether both expose the same samples for the same updates.
// Usage: npx tsx bench/lib-metrics.ts [requests=200000]
import { coldRequireMs, HAND_WRITTEN_COMMIT, heapBytesPerCall, importAtCommit, microsPerCall, ratioRow } from './lib-bench-util.ts'

const METRICS_PATH = 'packages/gpu-runner/src/server/metrics.ts'
type Labels = Record<string, string>
interface AnyRunnerMetrics {
  requests: { inc(labels: Labels, by?: number): void }
  images: { inc(labels: Labels, by?: number): void }
  errors: { inc(labels: Labels, by?: number): void }
  latency: { observe(labels: Labels, value: number): void }
  batchSize: { observe(labels: Labels, value: number): void }
  batchSeconds: { observe(labels: Labels, value: number): void }
  queueDepth: { set(labels: Labels, value: number): void }
  batchQueue: { set(labels: Labels, value: number): void }
  inflight: { set(labels: Labels, value: number): void }
  ready: { set(labels: Labels, value: number): void }
  render(): string | Promise<string>
}
type MetricsModule = { RunnerMetrics: new () => AnyRunnerMetrics }

const requests = Number(process.argv[2] ?? 200_000)
const library = (await import(`../${METRICS_PATH}`)) as MetricsModule
const handWritten = await importAtCommit<MetricsModule>(METRICS_PATH)

const MODELS = ['npr', 'cnnspot', 'resnet50', 'dire']
const CODES = ['ok', 'ok', 'ok', 'queue_full', 'image_too_large']

/** The updates the runner makes for request `i`: admission, one batch, the answer. */
function recordRequest(m: AnyRunnerMetrics, i: number): void {
  const model = MODELS[i % MODELS.length] as string
  const code = CODES[i % CODES.length] as string
  m.queueDepth.set({ model }, i % 7)
  m.batchQueue.set({ model }, i % 3)
  m.batchSize.observe({ model }, 1 + (i % 16))
  m.batchSeconds.observe({ model }, (i % 50) / 1000)
  m.queueDepth.set({ model }, 0)
  m.batchQueue.set({ model }, 0)
  m.images.inc({ model }, 1 + (i % 4))
  if (code !== 'ok') m.errors.inc({ code })
  m.requests.inc({ code, model })
  m.latency.observe({ model }, (i % 200) / 100)
}

/** Sample lines with labels sorted and blank lines dropped: what a Prometheus scrape makes of the text. */
const samples = (text: string) =>
  text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.replace(/\{([^}]*)\}/, (_, labels: string) => `{${labels.split(',').sort().join(',')}}`))
    .sort()

const filled = (Metrics: new () => AnyRunnerMetrics) => {
  const m = new Metrics()
  for (let i = 0; i < 1000; i++) recordRequest(m, i)
  m.inflight.set({}, 3)
  m.ready.set({}, 1)
  return m
}
const [libFilled, handFilled] = [filled(library.RunnerMetrics), filled(handWritten.RunnerMetrics)]
const [libText, handText] = [await libFilled.render(), await handFilled.render()]
const same = JSON.stringify(samples(libText)) === JSON.stringify(samples(handText))
const families = (text: string) => [...text.matchAll(/^# TYPE .+$/gm)].map((m) => m[0]).join('\n')

const lib = new library.RunnerMetrics()
const hand = new handWritten.RunnerMetrics()
let i = 0
let j = 0
const rows = [
  ratioRow(
    'one request’s updates (µs)',
    'µs',
    ['prom-client', await microsPerCall(() => recordRequest(lib, i++), requests)],
    ['hand-written', await microsPerCall(() => recordRequest(hand, j++), requests)],
  ),
  ratioRow(
    'one request’s updates (heap bytes)',
    'B',
    ['prom-client', await heapBytesPerCall(() => recordRequest(lib, i++), 20_000)],
    ['hand-written', await heapBytesPerCall(() => recordRequest(hand, j++), 20_000)],
  ),
  ratioRow(
    'one /metrics render, 4 models (µs)',
    'µs',
    ['prom-client', await microsPerCall(() => libFilled.render(), 2000)],
    ['hand-written', await microsPerCall(() => handFilled.render(), 2000)],
  ),
  ratioRow(
    'one /metrics render (heap bytes)',
    'B',
    ['prom-client', await heapBytesPerCall(() => libFilled.render(), 200)],
    ['hand-written', await heapBytesPerCall(() => handFilled.render(), 200)],
  ),
  ratioRow('exposition size (bytes)', 'B', ['prom-client', libText.length], ['hand-written', handText.length]),
]
console.log(`runner metrics: prom-client vs the hand-written registry at ${HAND_WRITTEN_COMMIT}, ${requests} requests a round`)
for (const row of rows) console.log(row)
console.log(`same samples for the same updates (labels sorted, as Prometheus reads them): ${same ? 'yes' : 'NO'}`)
console.log(`same metric families and types: ${families(libText) === families(handText) ? 'yes' : 'NO'}`)
console.log(
  `start-up, once a process: importing prom-client in a fresh node takes ${coldRequireMs('prom-client').toFixed(0)} ms ` +
    `(node:fs, as a floor: ${coldRequireMs('node:fs').toFixed(0)} ms; the hand-written file imports nothing)`,
)
if (!same) process.exitCode = 1
