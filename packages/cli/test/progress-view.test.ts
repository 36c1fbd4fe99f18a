import type { ExperimentProgressEvent } from '@genimage/shared'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { progressView } from '../src/experiments/progress-view.ts'

const run = (step: number, epoch = 1): ExperimentProgressEvent['runs'][number] => ({
  id: 'r1',
  index: 0,
  model: 'npr-tiny',
  trainOn: ['SD V1.4'],
  seed: 0,
  state: 'running',
  attempts: 1,
  failureReason: null,
  metrics: 0,
  progress: {
    phase: 'training',
    step,
    totalSteps: 100,
    epoch,
    epochs: 2,
    loss: 0.5,
    imagesPerSecond: 30,
    etaSeconds: 60,
    resumedFromStep: 0,
    backend: 'wasm',
    cellsDone: 0,
    cellsTotal: 8,
  },
})

afterEach(() => {
  vi.restoreAllMocks()
  vi.unstubAllEnvs()
})

describe('experiment progress into a log (stderr not a terminal)', () => {
  it('prints a run again within a long epoch, once per interval, with its step', async () => {
    expect(process.stderr.isTTY).toBeFalsy()
    vi.stubEnv('GENIMAGE_PROGRESS_INTERVAL_MS', '30')
    const lines: string[] = []
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')))
    const view = progressView(false)
    view.update({ id: 'e1', state: 'running', runs: [run(1)] })
    view.update({ id: 'e1', state: 'running', runs: [run(2)] }) // same epoch, too soon: no line
    expect(lines).toHaveLength(1)
    await new Promise((r) => setTimeout(r, 40))
    view.update({ id: 'e1', state: 'running', runs: [run(9)] })
    view.update({ id: 'e1', state: 'running', runs: [run(9)] }) // no new step: no line
    view.update({ id: 'e1', state: 'running', runs: [run(51, 2)] }) // a new epoch: a line at once
    expect(lines).toHaveLength(3)
    expect(lines[1]).toMatch(/run {2}0 npr-tiny on SD V1\.4 s0: training epoch 1\/2 loss 0\.500 ETA 60s \(step 9\/100\)/)
    expect(lines[2]).toMatch(/epoch 2\/2 .*\(step 51\/100\)/)
  })
})
