import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DetectResponse, ErrorResponse, InferError } from '@genimage/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handmadeModelAndPhoto, repoRoot, type Started, startGenimage } from '../support/processes.ts'

const TOKEN = 'e2e-runner-token-0123456789abcdef'
const cli = join(repoRoot, 'packages/cli/bin/genimage.js')
let work = ''
let photo: Buffer
const started: Started[] = []

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'genimage-runner-token-'))
  ;({ photo } = await handmadeModelAndPhoto(work))
})
afterAll(async () => {
  for (const process of started.reverse()) await process.stop()
  await rm(work, { recursive: true, force: true })
})

const detect = (edgeUrl: string) => {
  const form = new FormData()
  form.append('image', new Blob([photo as Uint8Array<ArrayBuffer>]), 'photo.jpg')
  return fetch(`${edgeUrl}/v1/detect`, { method: 'POST', body: form })
}

describe('RUNNER_TOKEN between separate edge and runner processes', () => {
  it('the runner refuses calls without the token; an edge with it scores, an edge without it cannot', async () => {
    const runner = await startGenimage('runner', { RUNNER_PORT: '0', MODEL_DIR: join(work, 'models'), EXECUTION_PROVIDERS: 'cpu', RUNNER_TOKEN: TOKEN })
    started.push(runner)
    expect((await fetch(`${runner.url}/v2/health/ready`)).status).toBe(200)
    const direct = await fetch(`${runner.url}/v2/models/npr-residual-handmade`)
    expect([direct.status, InferError.parse(await direct.json()).code]).toEqual([401, 'unauthorized'])

    const database = (name: string) => `file:${join(work, `${name}.db`)}`
    const withToken = await startGenimage('edge', {
      PORT: '0',
      RUNNER_URLS: runner.url,
      RUNNER_TOKEN: TOKEN,
      RUNNER_REGISTRY: 'false',
      DATABASE_URL: database('a'),
    })
    started.push(withToken)
    const scored = await detect(withToken.url)
    expect(scored.status).toBe(200)
    expect(DetectResponse.parse(await scored.json()).model.name).toBe('npr-residual-handmade')

    const withoutToken = await startGenimage('edge', { PORT: '0', RUNNER_URLS: runner.url, RUNNER_REGISTRY: 'false', DATABASE_URL: database('b') })
    started.push(withoutToken)
    const refused = await detect(withoutToken.url)
    expect(refused.status).toBe(503)
    expect(ErrorResponse.parse(await refused.json()).error.code).toBe('no_runner_available')
  })

  it('`genimage start` gives its own runner a fresh token: the stack scores, the runner refuses anyone else', async () => {
    const { RUNNER_TOKEN: _notInherited, ...inherited } = process.env
    const child = spawn(process.execPath, [cli, 'start'], {
      cwd: repoRoot,
      env: {
        ...inherited,
        PORT: '0',
        RUNNER_PORT: '0',
        MODEL_DIR: join(work, 'models'),
        DATABASE_URL: `file:${join(work, 'start.db')}`,
        TRAIN_WORKER: 'false',
        EXECUTION_PROVIDERS: 'cpu',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = new Promise<void>((done) => child.once('exit', () => done()))
    let output = ''
    try {
      const urls = await new Promise<{ edge: string; runner: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`genimage start did not start:\n${output}`)), 90_000)
        const read = (chunk: Buffer) => {
          output += chunk.toString()
          const edge = /GenImage detect API on (http:\/\/[\d.]+:\d+)/.exec(output)?.[1]
          const runner = /listening on (http:\/\/[\d.]+:\d+) with/.exec(output)?.[1]
          if (edge && runner) {
            clearTimeout(timer)
            resolve({ edge, runner })
          }
        }
        child.stdout.on('data', read)
        child.stderr.on('data', read)
        child.once('exit', (code) => reject(new Error(`genimage start exited with ${code}:\n${output}`)))
      })
      expect((await detect(urls.edge)).status).toBe(200)
      const direct = await fetch(`${urls.runner}/v2/models`)
      expect(direct.status).toBe(401)
      expect(output).not.toMatch(/RUNNER_TOKEN=\S/)
    } finally {
      child.kill('SIGTERM')
      await exited
    }
  })
})
