import { ExperimentProtocol } from '@genimage/shared'
import { TF_BACKEND_ENV, TF_BACKEND_NAMES } from '@genimage/training/tf'
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { registerAllCommands, TOP_LEVEL_COMMANDS } from '../src/commands/index.ts'
import { EXPERIMENT_PROTOCOLS } from '../src/commands/experiment.ts'
import { TF_BACKEND_CHOICES, TF_BACKEND_ENV_NAME } from '../src/options.ts'
import { STARTUP_REPORT_ENV, type StartupReport } from '../src/startup-report.ts'
import { runCli } from './support/cli-process.ts'

/** CPU time (user + system) a light command may spend: Node, tsx compiling the CLI's TypeScript, commander. */
const CPU_BUDGET_MS = 1000
/** Wall time, looser than the CPU budget: the test machines are shared and often busy. */
const WALL_BUDGET_MS = 2500

async function startup(args: string[]): Promise<StartupReport & { exitCode: number | null; processWallMs: number }> {
  const run = await runCli(args, { [STARTUP_REPORT_ENV]: '1' })
  const line = run.stderr.split('\n').find((l) => l.startsWith('{"startup"'))
  if (!line) throw new Error(`no start-up report from genimage ${args.join(' ')}:\n${run.stderr}`)
  return { ...(JSON.parse(line) as { startup: StartupReport }).startup, exitCode: run.code, processWallMs: run.wallMs }
}

describe('light commands start fast and load only what they run', () => {
  for (const args of [
    ['--help'],
    ['keys', 'list', '--help'],
    ['keys', '--help'],
    ['experiment', 'run', '--help'],
    ['detect', '--help'],
    ['detections', 'list', '--help'],
  ]) {
    it(`genimage ${args.join(' ')}: no onnxruntime, tfjs, sharp, Dawn or libSQL; under ${CPU_BUDGET_MS} ms of CPU`, async () => {
      await startup(args) // the first run compiles the CLI's TypeScript into tsx's cache, as a user's first call does
      const report = await startup(args)
      console.log(`genimage ${args.join(' ')}: ${report.cpuMs} ms CPU, ${Math.round(report.processWallMs)} ms wall`)
      expect(report.exitCode).toBe(0)
      expect(report.loaded).toEqual({ onnxruntime: false, sharp: false, libsql: false, webgpu: false, tfjs: false })
      expect(report.cpuMs).toBeLessThan(CPU_BUDGET_MS)
      expect(report.processWallMs).toBeLessThan(WALL_BUDGET_MS)
    })
  }

  it('a command that needs the training stack still loads it (the report sees it)', async () => {
    const report = await startup(['models', 'list', '--dir', '/nonexistent-model-dir'])
    expect(report.loaded.onnxruntime).toBe(true)
  })

  it('`genimage --help` lists every command with the description its own file gives it', async () => {
    const program = new Command('genimage')
    await registerAllCommands(program)
    const real = new Map(program.commands.map((c) => [c.name(), c.description()]))
    for (const entry of TOP_LEVEL_COMMANDS) expect(real.get(entry.usage.split(' ')[0] ?? '')).toBe(entry.description)
    expect(real.size).toBe(TOP_LEVEL_COMMANDS.length)
  })

  it('the choices repeated to keep tfjs and zod out of start-up equal their sources', () => {
    expect(TF_BACKEND_CHOICES).toEqual(TF_BACKEND_NAMES)
    expect(TF_BACKEND_ENV_NAME).toBe(TF_BACKEND_ENV)
    expect(EXPERIMENT_PROTOCOLS).toEqual(ExperimentProtocol.options)
  })
})
