// Benchmark: the runner's JSON log on pino (packages/gpu-runner/src/server/request-log.ts) vs the hand-written
// JSON.stringify + process.stderr.write it replaced (the same file at HAND_WRITTEN_COMMIT): time and heap bytes
// per request line written to stderr, and whether both write the same fields.
// Usage: npx tsx bench/lib-logging.ts [lines=100000] 2>/dev/null   (stderr must not be a terminal)
import { coldRequireMs, HAND_WRITTEN_COMMIT, heapBytesPerCall, importAtCommit, microsPerCall, ratioRow } from './lib-bench-util.ts'

const LOG_PATH = 'packages/gpu-runner/src/server/request-log.ts'
type Log = (entry: { level?: 'debug' | 'info' | 'warn' | 'error'; msg: string } & Record<string, unknown>) => void
type JsonLog = (component: string, fields?: Record<string, unknown>, destination?: { write(line: string): unknown }) => Log

if (process.stderr.isTTY) {
  console.log('stderr is a terminal: run with 2>/dev/null (or 2>file) so that both loggers write where a server writes')
  process.exit(2)
}
const lines = Number(process.argv[2] ?? 100_000)
const { jsonLog: pinoLog } = (await import(`../${LOG_PATH}`)) as { jsonLog: JsonLog }
const { jsonLog: handLog } = await importAtCommit<{ jsonLog: JsonLog }>(LOG_PATH)

/** The line the runner writes for one inference request. */
const requestLine = (i: number) => ({
  level: i % 10 === 0 ? ('warn' as const) : ('info' as const),
  msg: 'request',
  request_id: `7b0c1d3e-5f1a-4c2b-9d8e-${String(i).padStart(12, '0')}`,
  method: 'POST',
  path: '/v2/models/npr/infer',
  status: i % 10 === 0 ? 429 : 200,
  duration_ms: (i % 1000) / 10,
  model: 'npr',
  images: 1 + (i % 4),
  ...(i % 10 === 0 ? { code: 'queue_full' } : {}),
})

/** What the hand-written logger writes for `entry`, caught on its way to stderr. */
function handWrittenLine(entry: ReturnType<typeof requestLine>): string {
  const write = process.stderr.write
  let caught = ''
  process.stderr.write = ((chunk: string) => {
    caught += chunk
    return true
  }) as typeof write
  try {
    handLog('runner', { runner: 'gpu-0' })(entry)
  } finally {
    process.stderr.write = write
  }
  return caught
}
const pinoLine = (entry: ReturnType<typeof requestLine>) => {
  let caught = ''
  pinoLog(
    'runner',
    { runner: 'gpu-0' },
    {
      write: (chunk: string) => {
        caught += chunk
      },
    },
  )(entry)
  return caught
}
/** A line's fields and values, time aside, in key order (pino writes `msg` last, the hand-written logger before the entry's fields). */
const fields = (line: string) => JSON.stringify(Object.entries({ ...JSON.parse(line), time: undefined }).sort())
const sameFields = [0, 1, 10].every((i) => {
  const [a, b] = [pinoLine(requestLine(i)), handWrittenLine(requestLine(i))]
  return /^\{[^\n]*\}\n$/.test(a) && /^\{[^\n]*\}\n$/.test(b) && fields(a) === fields(b)
})

const pino = pinoLog('runner', { runner: 'gpu-0' })
const hand = handLog('runner', { runner: 'gpu-0' })
let i = 0
let j = 0
console.log(`runner JSON log: pino vs the hand-written logger at ${HAND_WRITTEN_COMMIT}, ${lines} request lines a round to stderr`)
console.log(
  ratioRow(
    'one request line (µs)',
    'µs',
    ['pino', await microsPerCall(() => pino(requestLine(i++)), lines)],
    ['hand-written', await microsPerCall(() => hand(requestLine(j++)), lines)],
  ),
)
console.log(
  ratioRow(
    'one request line (heap bytes)',
    'B',
    ['pino', await heapBytesPerCall(() => pino(requestLine(i++)), 20_000)],
    ['hand-written', await heapBytesPerCall(() => hand(requestLine(j++)), 20_000)],
  ),
)
console.log(`one JSON line per event with the same fields and values (time aside): ${sameFields ? 'yes' : 'NO'}`)
console.log(
  `start-up, once a process: importing pino in a fresh node takes ${coldRequireMs('pino').toFixed(0)} ms ` +
    `(node:fs, as a floor: ${coldRequireMs('node:fs').toFixed(0)} ms)`,
)
if (!sameFields) process.exitCode = 1
