import { createServer, type Server } from 'node:http'
import type { Client, InValue } from '@libsql/client'

type HranaValue =
  | { type: 'null' }
  | { type: 'integer'; value: string }
  | { type: 'float'; value: number }
  | { type: 'text'; value: string }
  | { type: 'blob'; base64: string }
type Stmt = { sql: string; args?: HranaValue[] }
type Request = { type: 'execute'; stmt: Stmt } | { type: 'batch'; batch: { steps: { stmt: Stmt }[] } } | { type: 'close' | 'get_autocommit' }

const decode = (v: HranaValue): InValue =>
  v.type === 'null'
    ? null
    : v.type === 'integer'
      ? BigInt(v.value)
      : v.type === 'float'
        ? v.value
        : v.type === 'text'
          ? v.value
          : Buffer.from(v.base64, 'base64')

function encode(v: unknown): HranaValue {
  if (v === null || v === undefined) return { type: 'null' }
  if (typeof v === 'bigint') return { type: 'integer', value: v.toString() }
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'integer', value: String(v) } : { type: 'float', value: v }
  if (typeof v === 'string') return { type: 'text', value: v }
  return { type: 'blob', base64: Buffer.from(v as ArrayBuffer).toString('base64') }
}

async function execute(client: Client, stmt: Stmt) {
  const rs = await client.execute({ sql: stmt.sql, args: (stmt.args ?? []).map(decode) })
  return {
    cols: rs.columns.map((name, i) => ({ name, decltype: rs.columnTypes[i] ?? null })),
    rows: rs.rows.map((row) => rs.columns.map((_, i) => encode(row[i]))),
    affected_row_count: rs.rowsAffected,
    last_insert_rowid: rs.lastInsertRowid === undefined ? null : String(rs.lastInsertRowid),
    rows_read: 0,
    rows_written: 0,
    query_duration_ms: 0,
  }
}

async function answer(client: Client, request: Request): Promise<unknown> {
  if (request.type === 'execute') return { type: 'execute', result: await execute(client, request.stmt) }
  if (request.type === 'batch') {
    const step_results = []
    for (const step of request.batch.steps) step_results.push(await execute(client, step.stmt))
    return { type: 'batch', result: { step_results, step_errors: step_results.map(() => null) } }
  }
  if (request.type === 'get_autocommit') return { type: 'get_autocommit', is_autocommit: true }
  return { type: 'close' }
}

/**
 * A stand-in for a libSQL server (sqld), which cannot be obtained offline: it speaks the Hrana v2 HTTP
 * pipeline that `@libsql/client/web` falls back to, and executes each statement on a real embedded libSQL
 * database. Only what the edge uses is implemented (execute, batch without conditions, close).
 */
export async function startHranaStandIn(client: Client): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v2/pipeline') {
      res.writeHead(404).end()
      return
    }
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { requests: Request[] }
    const results = []
    for (const request of body.requests) {
      try {
        results.push({ type: 'ok', response: await answer(client, request) })
      } catch (error) {
        results.push({ type: 'error', error: { message: String(error), code: 'SQLITE_ERROR' } })
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ baton: null, base_url: null, results }))
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server }
}
