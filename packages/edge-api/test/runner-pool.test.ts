import { ErrorResponse } from '@genimage/shared'
import { announceRunner, createDb, heartbeatRunner, listRunners, removeRunner } from '@genimage/shared/db'
import { describe, expect, it } from 'vitest'
import { RunnerPool } from '../src/runners/runner-pool.ts'
import { libsqlRunnerSource } from '../src/store/libsql-runners.ts'
import { edgeWith, form, JPEG_8x8, oipPeer } from './fixtures.ts'

const detect = (app: { request: (path: string, init: RequestInit) => Response | Promise<Response> }, headers: Record<string, string> = {}) =>
  app.request('/v1/detect', { method: 'POST', body: form([{ name: 'image', value: JPEG_8x8 }]), headers })

/** Routes fetches to in-process peers by host, like the fixture does for static runners. */
function peerFetch(peers: Record<string, ReturnType<typeof oipPeer> | 'down'>): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    const peer = peers[new URL(request.url).host]
    if (!peer || peer === 'down') throw new TypeError('fetch failed: connection refused')
    return peer.app.fetch(request)
  }) as typeof fetch
}

describe('runner registry in libSQL', () => {
  it('announces, beats, lists only fresh heartbeats and removes runners', async () => {
    const db = await createDb(':memory:')
    const t0 = new Date('2026-01-01T00:00:00Z')
    await announceRunner(db, { name: 'gpu-0', url: 'http://gpu-0:8788', models: ['npr'], capabilities: ['detect', 'train'] }, t0)
    await announceRunner(db, { name: 'trainer', url: 'http://trainer:8788', models: [], capabilities: ['train'] }, t0)
    expect((await listRunners(db, { capability: 'detect', now: t0 })).map((r) => r.name)).toEqual(['gpu-0'])
    expect(await heartbeatRunner(db, 'gpu-0', { inflight: 4 }, new Date(t0.getTime() + 10_000))).toBe(true)
    const later = new Date(t0.getTime() + 20_000)
    const fresh = await listRunners(db, { maxAgeMs: 15_000, now: later })
    expect(fresh.map((r) => [r.name, r.inflight, r.ready])).toEqual([['gpu-0', 4, true]])
    await removeRunner(db, 'gpu-0')
    expect(await heartbeatRunner(db, 'gpu-0', {})).toBe(false)
    await expect(announceRunner(db, { name: '', url: 'ftp://x', models: [], capabilities: [] })).rejects.toThrow()
  })

  it('routes to runners announced in the database, and stops when their heartbeat goes stale or they drain', async () => {
    const db = await createDb(':memory:')
    let now = new Date('2026-01-01T00:00:00Z')
    const peers = { 'reg-1': oipPeer() }
    const pool = new RunnerPool([], { fetchFn: peerFetch(peers), refreshMs: 0, registry: libsqlRunnerSource(db, { maxAgeMs: 15_000, now: () => now }) })
    expect((await pool.pick('fixture')).ok).toBe(false)
    await announceRunner(db, { name: 'reg-1', url: 'http://reg-1', models: ['fixture'], capabilities: ['detect'] }, now)
    const picked = await pool.pick('fixture')
    expect(picked.ok && picked.runner.name).toBe('reg-1')
    await heartbeatRunner(db, 'reg-1', { draining: true }, now)
    expect(await pool.pick('fixture')).toMatchObject({ ok: false, reason: 'no_runner_available' })
    await heartbeatRunner(db, 'reg-1', { draining: false, ready: false }, now)
    expect(await pool.pick('fixture')).toMatchObject({ ok: false, reason: 'no_runner_available' })
    await heartbeatRunner(db, 'reg-1', { ready: true }, now)
    expect((await pool.pick('fixture')).ok).toBe(true)
    now = new Date(now.getTime() + 16_000)
    expect(await pool.pick('fixture')).toMatchObject({ ok: false, reason: 'no_runner_available' })
    expect(pool.runners).toHaveLength(0)
  })

  it('merges static URLs with registered runners and sends each request to the one with fewer in flight', async () => {
    const db = await createDb(':memory:')
    const peers = { static: oipPeer(), 'reg-1': oipPeer() }
    await announceRunner(db, { name: 'reg-1', url: 'http://reg-1/', models: ['fixture'], capabilities: ['detect'] })
    const pool = new RunnerPool(['http://static'], { fetchFn: peerFetch(peers), refreshMs: 0, registry: libsqlRunnerSource(db) })
    const first = await pool.pick('fixture')
    if (!first.ok) throw new Error(first.message)
    let finish = () => {}
    const held = new Promise<void>((resolve) => (finish = resolve))
    const inFlight = [pool.run(first.runner, () => held), pool.run(first.runner, () => held)]
    expect(first.runner.inflight).toBe(2)
    const second = await pool.pick('fixture')
    expect(second.ok && second.runner.name).not.toBe(first.runner.name)
    expect(pool.runners.map((r) => r.origin).sort()).toEqual(['registry', 'static'])
    finish()
    await Promise.all(inFlight)
    expect(first.runner.inflight).toBe(0)
  })

  it('counts a call in flight until it settles, failed calls included', async () => {
    const pool = new RunnerPool(['http://static'], { fetchFn: peerFetch({ static: oipPeer() }), refreshMs: 0 })
    const choice = await pool.pick('fixture')
    if (!choice.ok) throw new Error(choice.message)
    const failing = pool.run(choice.runner, async () => {
      throw new Error('runner went away')
    })
    expect(choice.runner.inflight).toBe(1)
    await expect(failing).rejects.toThrow('runner went away')
    expect(choice.runner.inflight).toBe(0)
    const scored = await pool.run(choice.runner, (client) => client.infer('fixture', [JPEG_8x8], 'req-1'))
    expect(scored.ok && scored.data.probabilities).toHaveLength(1)
    expect(choice.runner.inflight).toBe(0)
  })
})

describe('retries and the circuit breaker', () => {
  it('retries once on another runner after a 503, never on the same one', async () => {
    const busy = oipPeer({ failInfer: { status: 503, body: { error: 'draining', code: 'no_runner_available' } } })
    const healthy = oipPeer()
    const { app, rows } = await edgeWith({ busy, healthy })
    for (let i = 0; i < 4; i++) expect((await detect(app)).status).toBe(200)
    expect(healthy.calls.infer).toBe(4)
    expect(busy.calls.infer).toBeLessThanOrEqual(3)
    expect(await rows()).toHaveLength(4)
  })

  it('answers 503 no_runner_available with a code when both runners fail', async () => {
    const failing = () => oipPeer({ failInfer: { status: 503, body: { error: 'overloaded', code: 'no_runner_available' } } })
    const { app, rows } = await edgeWith({ a: failing(), b: failing() })
    const res = await detect(app)
    expect(res.status).toBe(503)
    expect(ErrorResponse.parse(await res.json()).error.code).toBe('no_runner_available')
    expect(await rows()).toHaveLength(0)
  })

  it('stops sending to a runner after 3 failures in a row, until its health check passes again', async () => {
    const flaky = oipPeer({ failInfer: { status: 502, body: { error: 'bad gateway' } } })
    const solid = oipPeer()
    let now = 0
    const { app, runners } = await edgeWith({ flaky, solid }, {}, { pool: { clock: () => now, refreshMs: 100, breakerCooldownMs: 1_000 } })
    const flakyState = () => runners.runners.find((r) => r.name === 'http://flaky')
    for (let i = 0; i < 3; i++) expect((await detect(app)).status).toBe(200)
    expect(flaky.calls.infer).toBe(3)
    expect(flakyState()?.breaker).toBe('open')
    const before = flaky.calls.infer
    for (let i = 0; i < 5; i++) expect((await detect(app)).status).toBe(200)
    expect(flaky.calls.infer).toBe(before)
    flaky.options.failInfer = undefined
    now += 1_000
    await runners.refresh()
    expect(flakyState()?.breaker).toBe('closed')
    const metrics = await (await app.request('/metrics')).text()
    expect(metrics).toMatch(/edge_runner_retries_total [1-9]/)
  })

  it('keeps the breaker open while the health check fails', async () => {
    const peers: Record<string, ReturnType<typeof oipPeer> | 'down'> = { gone: oipPeer(), other: oipPeer() }
    let now = 0
    const { runners } = await edgeWith(peers, {}, { pool: { clock: () => now, breakerThreshold: 1, breakerCooldownMs: 500 } })
    await runners.refresh(true)
    const gone = runners.runners.find((r) => r.name === 'http://gone')
    if (!gone) throw new Error('no runner')
    runners.recordFailure(gone, 'connection refused', true)
    expect(gone.breaker).toBe('open')
    peers.gone = 'down'
    now += 500
    await runners.refresh()
    expect(gone.breaker).toBe('open')
    peers.gone = oipPeer()
    now += 500
    await runners.refresh()
    expect(gone.breaker).toBe('closed')
    expect(runners.routable(gone)).toBe(true)
  })

  it("passes a runner's 429 queue_full with Retry-After to the client without retrying elsewhere", async () => {
    const full = () => oipPeer({ failInfer: { status: 429, body: { error: 'queue full', code: 'queue_full' }, headers: { 'retry-after': '2' } } })
    const a = full()
    const b = full()
    const { app } = await edgeWith({ a, b })
    const res = await detect(app)
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('2')
    expect(ErrorResponse.parse(await res.json()).error.code).toBe('queue_full')
    expect(a.calls.infer + b.calls.infer).toBe(1)
  })

  it("carries the edge's request id to the runner in x-request-id, never the client's", async () => {
    const peer = oipPeer()
    const { app } = await edgeWith({ r1: peer })
    const res = await detect(app, { 'x-request-id': 'trace-123' })
    expect(res.status).toBe(200)
    expect(peer.calls.requestIds).toEqual([res.headers.get('x-request-id')])
    expect(peer.calls.requestIds[0]).toMatch(/^[0-9a-f-]{36}$/)
    const generated = await detect(app)
    expect(peer.calls.requestIds[1]).toBe(generated.headers.get('x-request-id'))
  })
})
