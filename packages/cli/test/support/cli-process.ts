import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))
export const cliBin = fileURLToPath(new URL('../../bin/genimage.js', import.meta.url))

/** What a finished `genimage` process left behind. */
export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
  wallMs: number
}

/** Runs `genimage …` as its own process (stdout and stderr are pipes, not terminals) and waits for it to end. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  const started = performance.now()
  const child = spawn(process.execPath, [cliBin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: withEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: options.timeoutMs ?? 120_000,
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((done, fail) => {
    child.once('error', fail)
    child.once('close', (code) => done({ code, stdout, stderr, wallMs: performance.now() - started }))
  })
}

/** A long-running `genimage` process (a server) with everything it printed so far. */
export interface RunningCli {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  stop: () => Promise<void>
}

/** Starts `genimage …` and resolves once `ready` matches stdout or stderr. */
export function startCli(
  args: string[],
  env: Record<string, string | undefined>,
  ready: RegExp,
  timeoutMs = 90_000,
): Promise<RunningCli & { match: RegExpExecArray }> {
  const child = spawn(process.execPath, [cliBin, ...args], { cwd: repoRoot, env: withEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`genimage ${args.join(' ')} was not ready in ${timeoutMs} ms:\n${stderr}`))
    }, timeoutMs)
    const check = () => {
      const match = ready.exec(stdout) ?? ready.exec(stderr)
      if (!match) return
      clearTimeout(timer)
      child.stdout.off('data', onOut)
      child.stderr.off('data', onErr)
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      resolve({ child, match, stdout: () => stdout, stderr: () => stderr, stop })
    }
    const onOut = (chunk: Buffer) => {
      stdout += chunk.toString()
      check()
    }
    const onErr = (chunk: Buffer) => {
      stderr += chunk.toString()
      check()
    }
    child.stdout.on('data', onOut)
    child.stderr.on('data', onErr)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`genimage ${args.join(' ')} exited with ${code} before it was ready:\n${stderr}`))
    })
  })
}

/** The test process's environment with `env` on top; an undefined value removes the variable. */
function withEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete merged[name]
    else merged[name] = value
  }
  return merged
}
