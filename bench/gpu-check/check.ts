/**
 * The GPU check (issue 13 item 5): WebGPU through the project's code vs PyTorch in the same run, one table at the
 * end. Started by bench/gpu-check.sh, in the repository (tsx) or from the packed bundle (its own Node). Every
 * section runs in its own process with a time limit, the whole run within --budget seconds (default 450: the
 * GPU machine allows 8 minutes); the PyTorch peer is bench/gpu-check/torch_peer.py.
 *
 *   bash bench/gpu-check.sh [--quick] [--budget 450] [--only adapter,export,inference,torch-inference,...]
 *
 * --quick shrinks every section (batch 1 inference, batch-2 training steps, 2 detect clients) for a dry run on a
 * software adapter (lavapipe), where shaders compile slowly; it exercises every section all the same.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type SectionResult, emitResult, parseResultLine, renderDetails, renderTable } from './results.ts'
import { type CheckPlan, checkPlan, type SectionName, SECTION_NAMES } from './plan.ts'

const { values: args } = parseArgs({
  options: {
    section: { type: 'string' },
    work: { type: 'string' },
    quick: { type: 'boolean', default: false },
    budget: { type: 'string' },
    only: { type: 'string' },
    python: { type: 'string' },
  },
})
const plan = checkPlan(args.quick ?? false)
const here = dirname(fileURLToPath(import.meta.url))

/** Runs one section in this process and prints its marker line (the child side). */
async function runSection(name: SectionName, work: string, p: CheckPlan): Promise<SectionResult> {
  const modelDir = join(work, 'models')
  const { CHECK_MODEL_NAME } = await import('./resnet50-model.ts')
  const onnxPath = join(modelDir, CHECK_MODEL_NAME, 'model.onnx')
  switch (name) {
    case 'adapter': {
      const { describeAdapter, requestWebGpuAdapter } = await import('@genimage/training/webgpu')
      const { adapter, info } = await requestWebGpuAdapter()
      const limits = adapter.limits
      const software =
        info.software && !args.quick ? ['WARNING: a software adapter: the full plan will run into its time limits here (--quick is the dry run)'] : []
      return {
        section: name,
        ok: true,
        notes: [
          ...software,
          `WebGPU adapter: ${describeAdapter(info)} (vendor ${info.vendor || '?'}, architecture ${info.architecture || '?'}, device ${info.device || '?'})`,
          `adapter limits: maxBufferSize ${(limits.maxBufferSize / 2 ** 20).toFixed(0)} MiB, maxStorageBufferBindingSize ${(limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB, ` +
            `maxComputeWorkgroupStorageSize ${limits.maxComputeWorkgroupStorageSize}; features: ${[...adapter.features].sort().join(', ') || 'none'}`,
        ],
        measurements: [],
      }
    }
    case 'export': {
      const { writeResnet50Folder } = await import('./resnet50-model.ts')
      const t = performance.now()
      const folder = await writeResnet50Folder(modelDir)
      const note = `zoo resnet50 (random weights, seed 1) exported to ONNX: ${(folder.bytes / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s`
      return { section: name, ok: true, notes: [note], measurements: [] }
    }
    case 'inference': {
      const { measureWebGpuInference } = await import('./webgpu-inference.ts')
      return measureWebGpuInference({ onnxPath, inputName: 'image', size: 224, ...p.inference })
    }
    case 'train-resnet18':
    case 'train-resnet50': {
      const { measureWebGpuTraining } = await import('./webgpu-training.ts')
      return measureWebGpuTraining(name === 'train-resnet18' ? p.resnet18 : p.resnet50)
    }
    case 'detect': {
      const { measureDetect } = await import('./detect-stack.ts')
      return measureDetect({ modelDir, work, ...p.detect })
    }
    default:
      throw new Error(`section ${name} runs in Python (torch_peer.py), not here`)
  }
}

/** Runs a section (a Node child or the Python peer) with a time limit; its own output passes through. */
function spawnSection(name: SectionName, work: string, timeoutS: number): Promise<SectionResult> {
  const python = args.python ?? process.env.PYTHON ?? 'python3'
  const command = name.startsWith('torch-')
    ? [python, join(here, 'torch_peer.py'), ...plan.torchArgs(name)]
    : [process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), '--section', name, '--work', work, ...(args.quick ? ['--quick'] : [])]
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], detached: true })
    let result: SectionResult | undefined
    let pending = ''
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString()
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        const parsed = parseResultLine(line)
        if (parsed) result = parsed
        else process.stdout.write(`  ${line}\n`)
      }
    })
    const timer = setTimeout(() => {
      result = { section: name, ok: false, error: `timed out after ${timeoutS} s`, notes: [], measurements: [] }
      if (child.pid) process.kill(-child.pid, 'SIGKILL')
    }, timeoutS * 1000)
    const finish = (error?: string) => {
      clearTimeout(timer)
      resolve(result ?? { section: name, ok: false, error: error ?? 'printed no result', notes: [], measurements: [] })
    }
    child.once('error', (error) => finish(`could not start ${command[0]}: ${error.message}`))
    child.once('exit', (code, signal) => finish(`exited ${code ?? signal} without a result`))
  })
}

/** An error's message and the first frames of its stack, for the closing report. */
function firstLines(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause
  const causeLine = cause == null ? '' : `\n    cause: ${cause instanceof Error ? cause.message : String(cause)}`
  return ((error as Error).stack ?? String(error)).split('\n').slice(0, 4).join('\n    ') + causeLine
}

async function orchestrate(): Promise<void> {
  const started = performance.now()
  const budget = Number(args.budget ?? plan.budgetS)
  const only = args.only?.split(',').map((s) => s.trim())
  const names = SECTION_NAMES.filter(
    (n) => only == null || only.includes(n) || (n === 'export' && only.some((o) => o !== 'adapter' && !o.startsWith('torch-'))),
  )
  const work = await mkdtemp(join(tmpdir(), 'genimage-gpu-check-'))
  console.log(`GPU check${args.quick ? ' (--quick dry run)' : ''}: Node ${process.version}, budget ${budget} s, work ${work}`)
  const results: SectionResult[] = []
  try {
    for (const name of names) {
      const adapter = results.find((r) => r.section === 'adapter')
      if (adapter && !adapter.ok && !name.startsWith('torch-')) {
        results.push({ section: name, ok: false, error: `skipped: no WebGPU adapter (${adapter.error?.split('\n')[0]})`, notes: [], measurements: [] })
        continue
      }
      const left = budget - (performance.now() - started) / 1000
      if (left < plan.minSectionS) {
        results.push({ section: name, ok: false, error: `skipped: ${left.toFixed(0)} s of the ${budget} s budget left`, notes: [], measurements: [] })
        console.log(`\n== ${name}: skipped (budget spent)`)
        continue
      }
      const limit = Math.max(1, Math.floor(Math.min(plan.timeoutS[name], left)))
      console.log(`\n== ${name} (limit ${limit} s)`)
      const t = performance.now()
      const result = await spawnSection(name, work, limit)
      results.push(result)
      for (const note of result.notes) console.log(`  ${note}`)
      console.log(`  -> ${result.ok ? 'ok' : `FAILED: ${result.error}`} (${((performance.now() - t) / 1000).toFixed(1)} s)`)
      if (name === 'export' && !result.ok) break
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  const torch = results.find((r) => r.section.startsWith('torch-'))
  const torchSide = torch?.ok ? (torch.notes.find((n) => n.startsWith('side: '))?.slice(6) ?? 'PyTorch') : 'PyTorch (not measured)'
  console.log(`\n== results (${((performance.now() - started) / 1000).toFixed(0)} s in all)`)
  console.log(renderTable(results, torchSide, plan.workloads, plan.labels))
  const details = renderDetails(results)
  if (details.length > 0) console.log(`\ndetails:\n${details.join('\n')}`)
  const failed = results.filter((r) => !r.ok)
  if (failed.length > 0) console.log(`\nnot measured:\n${failed.map((r) => `  ${r.section}: ${r.error}`).join('\n')}`)
  const webgpuFailed = failed.some((r) => !r.section.startsWith('torch-'))
  process.exitCode = webgpuFailed ? 1 : 0
}

if (args.section != null) {
  const name = args.section as SectionName
  const result = await runSection(name, args.work ?? '', plan).catch(
    (error: unknown): SectionResult => ({ section: name, ok: false, error: firstLines(error), notes: [], measurements: [] }),
  )
  emitResult(result)
  process.exit(0)
} else {
  if (!existsSync(join(here, 'torch_peer.py'))) console.log('note: torch_peer.py is missing beside the check: the PyTorch side will fail')
  await orchestrate()
}
