// Node only (vitest): builds the Deno and workerd bundles and serves the workerd one with the real workerd binary.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { HealthResponse } from '@genimage/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildBundles } from '../scripts/build-bundles.ts'
import { oipPeer } from './fixtures.ts'

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
    const runner = oipPeer()
    const runnerServer = serve({ fetch: runner.app.fetch, port: 0, hostname: '127.0.0.1' })
    await new Promise((done) => runnerServer.once('listening', done))
    const runnerPort = (runnerServer.address() as { port: number }).port
    const port = await freePort()
    const config = (await readFile(new URL('../workerd/edge.capnp', import.meta.url), 'utf8'))
      .replace('"../dist/edge-workerd.js"', '"edge-workerd.js"')
      .replace('127.0.0.1:8787', `127.0.0.1:${port}`)
      .replace('http://127.0.0.1:8788', `http://127.0.0.1:${runnerPort}`)
      .replace('(name = "RUNNER_REGISTRY", text = "true")', '(name = "RUNNER_REGISTRY", text = "false")')
    await writeFile(join(dir, 'edge.capnp'), config)
    const workerd = spawn(join(process.cwd(), '../../node_modules/.bin/workerd'), ['serve', 'edge.capnp'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    workerd.stdout.on('data', (d) => (output += d))
    workerd.stderr.on('data', (d) => (output += d))
    try {
      let res: Response | undefined
      for (let i = 0; i < 100 && !res; i++) {
        res = await fetch(`http://127.0.0.1:${port}/openapi.json`).catch(() => undefined)
        if (!res) await new Promise((r) => setTimeout(r, 100))
      }
      expect(res?.status).toBe(200)
      expect(((await res?.json()) as { openapi: string }).openapi).toBe('3.1.0')
      const health = await fetch(`http://127.0.0.1:${port}/healthz`)
      const body = HealthResponse.parse(await health.json())
      expect(body.runners).toEqual({ total: 1, ready: 1 })
      expect(body.database).toBe('error')
      expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      expect(output).toContain('"route":"/healthz"')
    } finally {
      workerd.kill('SIGTERM')
      await new Promise((done) => runnerServer.close(done))
    }
  })
})
