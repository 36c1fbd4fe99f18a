import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { commandLine, ModelCard } from '@genimage/shared'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { TrainEvent } from '@genimage/training/train'
import { makeSyntheticDataset } from '@genimage/training/train'

const repoRoot = resolve(import.meta.dirname, '../../..')
const bin = join(repoRoot, 'packages/cli/bin/genimage.js')
let root: string
let out: string

beforeAll(async () => {
  root = await makeSyntheticDataset({ generators: ['GenA'], size: 64, trainPerClass: 24, valPerClass: 8 })
  out = join(await mkdtemp(join(tmpdir(), 'genimage-cli-')), 'npr-tiny-gena')
})

afterAll(async () => {
  await rm(root, { recursive: true, force: true })
  await rm(resolve(out, '..'), { recursive: true, force: true })
})

/** Runs `genimage train --json`; `killAt` SIGKILLs the process once that step's checkpoint is reported. */
function train(killAt?: number): Promise<{ events: TrainEvent[]; code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  const args = [
    bin,
    'train',
    '--model',
    'npr-tiny',
    '--data',
    root,
    '--train-on',
    'GenA',
    '--out',
    out,
    '--epochs',
    '2',
    '--batch-size',
    '8',
    '--checkpoint-every',
    '2',
    '--backend',
    'wasm',
    '--json',
  ]
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  const events: TrainEvent[] = []
  let stdout = ''
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout += `${line}\n`
    if (!line.startsWith('{')) return
    const event = JSON.parse(line) as TrainEvent
    events.push(event)
    if (killAt !== undefined && event.type === 'checkpoint' && event.step >= killAt) child.kill('SIGKILL')
  })
  child.stderr.resume()
  return new Promise((done) => child.on('close', (code, signal) => done({ events, code, signal, stdout })))
}

it('`genimage train` killed mid-run resumes from its checkpoint and writes a served model folder', { timeout: 120_000 }, async () => {
  const first = await train(2)
  expect(first.signal).toBe('SIGKILL')
  const lastCheckpoint = first.events.filter((e) => e.type === 'checkpoint').at(-1)
  expect(lastCheckpoint).toBeDefined()

  const second = await train()
  expect(second.code).toBe(0)
  const start = second.events.find((e) => e.type === 'start')
  expect(start).toMatchObject({ type: 'start', totalSteps: 12 })
  expect((start as { resumedFromStep: number }).resumedFromStep).toBeGreaterThanOrEqual(2)
  expect(second.events.filter((e) => e.type === 'step')[0]).toMatchObject({ step: (start as { resumedFromStep: number }).resumedFromStep + 1 })
  expect(second.stdout).toContain(`wrote ${out}`)

  const card = ModelCard.parse(JSON.parse(await readFile(join(out, 'card.json'), 'utf8')))
  const reproduce = ['npx', 'genimage', 'train', '--model', 'npr-tiny', '--data', root, '--train-on', 'GenA', '--task', 'binary']
  expect(card.provenance.command).toBe(commandLine([...reproduce, '--epochs', '2', '--batch-size', '8', '--seed', '0', '--out', out]))
  expect(card.metrics[0]!.accuracy).toBeGreaterThanOrEqual(0.8)
})

it('`genimage train` refuses to replace a model folder at --out unless --force, before training', { timeout: 60_000 }, async () => {
  const shipped = join(resolve(out, '..'), 'shipped')
  await mkdir(shipped, { recursive: true })
  await writeFile(join(shipped, 'card.json'), '{"name":"shipped"}')
  const args = [bin, 'train', '--model', 'npr-tiny', '--data', root, '--train-on', 'GenA', '--out', shipped, '--epochs', '1']
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  child.stdout.resume()
  const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)))
  expect(code).toBe(2)
  expect(stderr).toContain(`${shipped} already holds a model (card.json); training would replace it. Pass --force to replace it`)
  expect(await readFile(join(shipped, 'card.json'), 'utf8')).toBe('{"name":"shipped"}')
})
