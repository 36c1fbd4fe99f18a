import type { AddressInfo } from 'node:net'
import { DetectResponse } from '@genimage/shared'
import { createDb } from '@genimage/shared/db'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { edgeEnvironment } from '../src/config.ts'
import { createLibsqlEdgeApp } from '../src/entries/libsql-app.ts'
import { parseRunnerUrls, runnerTokenFor } from '../src/runners/runner-tokens.ts'
import { form, JPEG_8x8, oipPeer } from './fixtures.ts'

const TOKEN = 'edge-to-runner-token-0123456789'
const OTHER = 'second-runner-token-abcdefghij'

describe('parseRunnerUrls', () => {
  it('reads #no-token and #token-env=NAME per URL; RUNNER_TOKEN covers the rest and registered runners', () => {
    const { urls, tokens } = parseRunnerUrls(' http://a:8788/ , http://triton:8000#no-token, http://b:8788#token-env=B_TOKEN', { B_TOKEN: OTHER }, TOKEN)
    expect(urls).toEqual(['http://a:8788', 'http://triton:8000', 'http://b:8788'])
    expect(['http://a:8788', 'http://triton:8000', 'http://b:8788/', 'http://registered:9000'].map((u) => runnerTokenFor(tokens, u))).toEqual([
      TOKEN,
      undefined,
      OTHER,
      TOKEN,
    ])
    expect(runnerTokenFor(parseRunnerUrls('http://a:1', {}).tokens, 'http://a:1')).toBeUndefined()
  })

  it('names what is wrong: an unknown fragment, an unset or short token variable, a short RUNNER_TOKEN', () => {
    expect(() => parseRunnerUrls('http://a:1#secret', {})).toThrow(/#no-token or #token-env=NAME/)
    expect(() => parseRunnerUrls('http://a:1#token-env=MISSING', {})).toThrow(/MISSING/)
    expect(() => parseRunnerUrls('http://a:1#token-env=SHORT', { SHORT: 'abc' })).toThrow(/SHORT.*16/)
    expect(() => edgeEnvironment({ RUNNER_TOKEN: 'short' })).toThrow(/RUNNER_TOKEN/)
    expect(edgeEnvironment({ RUNNER_URLS: 'http://a:1#no-token' }).runnerUrls).toEqual(['http://a:1'])
  })
})

/** Real runners on loopback: one that requires the token, one standing in for Triton (no token, records what it got). */
const servers: ReturnType<typeof serve>[] = []
let guardedUrl = ''
let tritonUrl = ''
const tritonAuthorization: (string | undefined)[] = []
const guardedRefusals: string[] = []

async function listen(app: Hono): Promise<string> {
  const server = await new Promise<ReturnType<typeof serve>>((done) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => done(s))
  })
  servers.push(server)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

beforeAll(async () => {
  const guarded = new Hono()
  guarded.use('*', async (c, next) => {
    if (c.req.path.startsWith('/v2/health/') || c.req.header('authorization') === `Bearer ${TOKEN}`) return next()
    guardedRefusals.push(c.req.path)
    return c.json({ error: 'unauthorized', code: 'unauthorized' }, 401)
  })
  guarded.route('/', oipPeer({ models: ['guarded'] }).app)
  guardedUrl = await listen(guarded)
  const triton = new Hono()
  triton.use('*', async (c, next) => {
    tritonAuthorization.push(c.req.header('authorization'))
    await next()
  })
  triton.route('/', oipPeer({ models: ['triton-model'] }).app)
  tritonUrl = await listen(triton)
})
afterAll(async () => {
  for (const server of servers) await new Promise<void>((done) => server.close(() => done()))
})

describe('the edge entry sends each runner its token', () => {
  async function edgeFor(env: Record<string, string>) {
    const settings = edgeEnvironment({ RUNNER_REGISTRY: 'false', ...env })
    return createLibsqlEdgeApp(await createDb(':memory:'), settings)
  }
  const detect = (app: Awaited<ReturnType<typeof edgeFor>>, model: string) =>
    app.request('/v1/detect', {
      method: 'POST',
      body: form([
        { name: 'image', value: JPEG_8x8 },
        { name: 'model', value: model },
      ]),
    })

  it('scores through a token-guarded runner and a Triton-like one, never leaking the token to the latter', async () => {
    const app = await edgeFor({ RUNNER_URLS: `${guardedUrl},${tritonUrl}#no-token`, RUNNER_TOKEN: TOKEN })
    for (const model of ['guarded', 'triton-model']) {
      const res = await detect(app, model)
      expect({ model, status: res.status }).toEqual({ model, status: 200 })
      expect(DetectResponse.parse(await res.json()).model.name).toBe(model)
    }
    expect(guardedRefusals).toEqual([])
    expect(tritonAuthorization.length).toBeGreaterThan(0)
    expect(tritonAuthorization.filter((header) => header !== undefined)).toEqual([])
  })

  it('reads a runner token from #token-env=NAME, and without a token the guarded runner is not used', async () => {
    const named = await edgeFor({ RUNNER_URLS: `${guardedUrl}#token-env=GUARDED_TOKEN`, GUARDED_TOKEN: TOKEN })
    expect((await detect(named, 'guarded')).status).toBe(200)
    const refusalsBefore = guardedRefusals.length
    const without = await edgeFor({ RUNNER_URLS: guardedUrl })
    expect((await detect(without, 'guarded')).status).toBeGreaterThanOrEqual(500)
    expect(guardedRefusals.length).toBeGreaterThan(refusalsBefore)
  })
})
