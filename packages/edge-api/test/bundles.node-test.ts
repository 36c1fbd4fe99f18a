// Node only (vitest): builds the Deno and workerd bundles and serves the workerd one with the real workerd binary.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { DetectResponse, HealthResponse } from '@genimage/shared'
import { announceRunner, createApiKey, createDb, detections } from '@genimage/shared/db'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildBundles } from '../scripts/build-bundles.ts'
import { form, JPEG_8x8, oipPeer } from './fixtures.ts'
import { startHranaStandIn } from './hrana-standin.ts'

const freePort = () =>
  new Promise<number>((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => done(port))
    })
  })

let dir = ''
let bundles: { file: string; bytes: number }[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edge-bundles-'))
  bundles = await buildBundles(dir)
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('edge bundles', () => {
  it('build for workerd and Deno as single ES modules that import only node: built-ins', async () => {
    expect(bundles.map((b) => b.file.split('/').pop())).toEqual(['edge-workerd.js', 'edge-deno.js'])
    for (const { file, bytes } of bundles) {
      expect(bytes).toBeGreaterThan(100_000)
      const text = await readFile(file, 'utf8')
      const imports = [...text.matchAll(/^import .* from "([^"]+)";?$/gm)].map((m) => m[1])
      expect(imports.filter((spec) => !spec?.startsWith('node:'))).toEqual([])
    }
  })

  it('serves under workerd: OpenAPI, and health that reaches a runner on loopback', async () => {
    const runner = await listen(oipPeer().app.fetch)
    const edge = await startWorkerd({ RUNNER_URLS: runner.url, RUNNER_REGISTRY: 'false' })
    try {
      const res = await fetch(`${edge.url}/openapi.json`)
      expect(res.status).toBe(200)
      expect(((await res.json()) as { openapi: string }).openapi).toBe('3.1.0')
      const health = await fetch(`${edge.url}/healthz`)
      const body = HealthResponse.parse(await health.json())
      expect(body.runners).toEqual({ total: 1, ready: 1 })
      expect(body.database).toBe('error')
      expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      expect(edge.output()).toContain('"route":"/healthz"')
    } finally {
      await edge.stop()
      await runner.close()
    }
  })

  it('detects end to end under workerd: API key checked and detection recorded over libSQL HTTP', async () => {
    const db = await createDb(':memory:')
    const key = await createApiKey(db, { name: 'workerd', scopes: ['detect'] })
    const sqld = await startHranaStandIn(db.$client)
    const peer = oipPeer()
    const runner = await listen(peer.app.fetch)
    await announceRunner(db, { name: 'reg-1', url: runner.url, models: ['fixture'], capabilities: ['detect'] })
    const edge = await startWorkerd({ RUNNER_URLS: '', DATABASE_URL: sqld.url })
    try {
      const upload = () => form([{ name: 'image', value: JPEG_8x8, filename: 'a.jpg' }])
      const anonymous = await fetch(`${edge.url}/v1/detect`, { method: 'POST', body: upload() })
      expect(anonymous.status).toBe(401)
      const res = await fetch(`${edge.url}/v1/detect`, { method: 'POST', body: upload(), headers: { authorization: `Bearer ${key.secret}` } })
      expect(res.status).toBe(200)
      const body = DetectResponse.parse(await res.json())
      expect(peer.calls.requestIds).toEqual([body.id])
      const rows = await db.select().from(detections)
      expect(rows.map((r) => [r.requestId, r.apiKeyId, r.modelName])).toEqual([[body.id, key.id, 'fixture']])
    } finally {
      await edge.stop()
      await runner.close()
      await new Promise((done) => sqld.server.close(done))
    }
  })
})

async function listen(handler: (request: Request) => Response | Promise<Response>) {
  const server = serve({ fetch: handler, port: 0, hostname: '127.0.0.1' })
  await new Promise((done) => server.once('listening', done))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((done) => server.close(() => done())) }
}

/** Serves the workerd bundle with the real workerd binary, using workerd/edge.capnp with its bindings replaced. */
async function startWorkerd(bindings: Record<string, string>) {
  const port = await freePort()
  const all = { DATABASE_URL: 'http://127.0.0.1:9', RUNNER_REGISTRY: 'true', ...bindings }
  const text = Object.entries(all)
    .map(([name, value]) => `(name = "${name}", text = "${value}")`)
    .join(',\n    ')
  const config = (await readFile(new URL('../workerd/edge.capnp', import.meta.url), 'utf8'))
    .replace('"../dist/edge-workerd.js"', '"edge-workerd.js"')
    .replace('127.0.0.1:8787', `127.0.0.1:${port}`)
    .replace(/bindings = \[[^\]]*\]/, `bindings = [\n    ${text}\n  ]`)
  await writeFile(join(dir, 'edge.capnp'), config)
  const workerd = spawn(join(process.cwd(), '../../node_modules/.bin/workerd'), ['serve', 'edge.capnp'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: `.bin/workerd` is a Node wrapper around the native binary, and both must stop.
    detached: true,
  })
  let output = ''
  workerd.stdout.on('data', (d) => (output += d))
  workerd.stderr.on('data', (d) => (output += d))
  const exited = new Promise<void>((done) => workerd.once('exit', () => done()))
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${url}/openapi.json`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    output: () => output,
    stop: async () => {
      if (workerd.pid !== undefined && workerd.exitCode === null) process.kill(-workerd.pid, 'SIGTERM')
      await exited
    },
  }
}
