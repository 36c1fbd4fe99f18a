import { describe, expect, it, onTestFinished } from 'vitest'
import { RunnerMetrics } from '../src/server/metrics.ts'
import { jsonLog } from '../src/server/request-log.ts'
import { createRunnerApp } from '../src/server/runner-app.ts'

/** A log destination that keeps what would have gone to stderr. */
const sink = () => {
  const written: string[] = []
  return { written, write: (chunk: string) => void written.push(chunk) }
}

describe('runner log lines', () => {
  it('writes one JSON object per event and line: ISO time, level name, component, fixed fields, the fields and msg', () => {
    const out = sink()
    const log = jsonLog('runner', { runner: 'gpu-0' }, out)
    log({ msg: 'listening', port: 8000 })
    log({ level: 'debug', msg: 'batch', size: 3 })
    log({ level: 'error', msg: 'multi\nline "quoted"', error: 'boom' })
    expect(out.written).toHaveLength(3)
    for (const chunk of out.written) expect(chunk).toMatch(/^\{[^\n]*\}\n$/)
    const [first, debug, error] = out.written.map((line) => JSON.parse(line))
    expect(first).toEqual({ time: expect.any(String), level: 'info', component: 'runner', runner: 'gpu-0', msg: 'listening', port: 8000 })
    expect(new Date(first.time).toISOString()).toBe(first.time)
    expect(debug).toMatchObject({ level: 'debug', msg: 'batch', size: 3 })
    expect(error).toMatchObject({ level: 'error', msg: 'multi\nline "quoted"', error: 'boom' })
  })

  it('logs each inference request with its id, status and error code, and leaves health probes out', async () => {
    const out = sink()
    const { app, close } = createRunnerApp({
      name: 't',
      version: '0',
      repository: { models: new Map(), problems: [] },
      maxBodyBytes: 1000,
      log: jsonLog('runner', { runner: 't' }, out),
    })
    onTestFinished(close)
    expect((await app.request('/v2/health/live')).status).toBe(200)
    const missing = await app.request('/v2/models/nope/infer', { method: 'POST', body: '{}', headers: { 'x-request-id': 'req-1' } })
    expect(missing.status).toBe(404)
    expect(out.written.map((line) => JSON.parse(line))).toEqual([
      {
        time: expect.any(String),
        level: 'warn',
        component: 'runner',
        runner: 't',
        msg: 'request',
        request_id: 'req-1',
        method: 'POST',
        path: '/v2/models/nope/infer',
        status: 404,
        duration_ms: expect.any(Number),
        code: 'model_not_found',
      },
    ])
  })
})

describe('runner metrics', () => {
  it('keeps the counts of two runners in one process apart and exposes each family with HELP and TYPE', async () => {
    const [a, b] = [new RunnerMetrics(), new RunnerMetrics()]
    a.requests.inc({ code: 'ok', model: 'm' })
    a.requests.inc({ code: 'ok', model: 'm' })
    b.requests.inc({ code: 'queue_full', model: 'm' })
    a.latency.observe({ model: 'm' }, 0.03)
    a.ready.set({}, 1)
    const text = await a.render()
    expect(text).toMatch(/^genimage_runner_requests_total\{code="ok",model="m"\} 2$/m)
    expect(text).not.toContain('queue_full')
    expect(await b.render()).toMatch(/^genimage_runner_requests_total\{code="queue_full",model="m"\} 1$/m)
    expect(text).toMatch(/^genimage_runner_request_duration_seconds_bucket\{le="0.025",model="m"\} 0$/m)
    expect(text).toMatch(/^genimage_runner_request_duration_seconds_bucket\{le="0.05",model="m"\} 1$/m)
    expect(text).toMatch(/^genimage_runner_request_duration_seconds_bucket\{le="\+Inf",model="m"\} 1$/m)
    expect(text).toMatch(/^genimage_runner_ready 1$/m)
    const families = [...text.matchAll(/^# TYPE (\S+) (counter|gauge|histogram)$/gm)].map((m) => m[1])
    expect(families).toHaveLength(10)
    for (const name of families) expect(text).toContain(`# HELP ${name} `)
    expect(a.contentType).toBe('text/plain; version=0.0.4; charset=utf-8')
  })
})
