import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const cli = fileURLToPath(new URL('../../packages/cli/bin/genimage.js', import.meta.url))

export interface Started {
  child: ChildProcess
  url: string
  /** Everything the process wrote to stderr so far. */
  logs: () => string
  alive: () => boolean
  stop: () => Promise<void>
}

/**
 * Starts `genimage <command>` as its own process and resolves with the URL it reports listening on.
 * Ports are 0 (the OS picks a free one), so tests never collide.
 */
export function startGenimage(command: string, env: Record<string, string>, timeoutMs = 60_000): Promise<Started> {
  const child = spawn(process.execPath, [cli, command], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  let exited = false
  child.on('exit', () => {
    exited = true
  })
  const stopped = new Promise<void>((done) => child.once('exit', () => done()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start in ${timeoutMs} ms:\n${stderr}`)), timeoutMs)
    let listening = false
    const onData = (chunk: Buffer) => {
      stderr += chunk.toString()
      if (listening) return
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(stderr)
      if (match?.[1]) {
        listening = true
        clearTimeout(timer)
        resolve({
          child,
          url: match[1],
          logs: () => stderr,
          alive: () => !exited,
          stop: async () => {
            if (!exited) child.kill('SIGTERM')
            await stopped
          },
        })
      }
    }
    child.stderr?.on('data', onData)
    child.stdout?.on('data', () => {})
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${command} exited with ${code} before listening:\n${stderr}`))
    })
  })
}

/** The photographs shipped with dataset-tools (real, with their attribution in the same folder). */
export const shippedPhotos = join(repoRoot, 'packages/dataset-tools/photos')

/**
 * The fixture most end-to-end tests start from: `genimage models handmade` written to `<work>/models/npr-residual-handmade`
 * (an honest, untrained statistic, so a runner has a model to serve) and the bytes of the first shipped photograph.
 */
export async function handmadeModelAndPhoto(work: string): Promise<{ modelDir: string; photo: Buffer; photoName: string }> {
  execFileSync(process.execPath, [cli, 'models', 'handmade', '--out', join(work, 'models/npr-residual-handmade')], { cwd: repoRoot })
  return { modelDir: join(work, 'models'), ...(await firstShippedPhoto()) }
}

/** The first shipped photograph (by name) and its bytes. */
export async function firstShippedPhoto(): Promise<{ photo: Buffer; photoName: string }> {
  const photoName = (await readdir(shippedPhotos)).filter((f) => f.endsWith('.jpg')).sort()[0]
  if (!photoName) throw new Error(`no shipped photo in ${shippedPhotos}`)
  return { photo: await readFile(join(shippedPhotos, photoName)), photoName }
}
