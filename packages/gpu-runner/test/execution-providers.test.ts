import * as ort from 'onnxruntime-node'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createSession, executionProviders, NoExecutionProviderError } from '../src/inference/execution-providers.ts'
import { brightnessModel } from './brightness-model.ts'

describe('createSession', () => {
  it('falls back along the priority list and says why each earlier provider was skipped', async () => {
    const { provider, skipped, session } = await createSession(brightnessModel(), ['cuda', 'cpu'])
    expect(provider).toBe('cpu')
    expect(skipped.map((s) => s.provider)).toEqual(['cuda'])
    expect(skipped[0]?.reason).toMatch(/not available|cuda/i)
    expect(session.inputNames).toEqual(['image'])
  })

  it('throws one error listing every provider that failed', async () => {
    const attempt = createSession(brightnessModel(), ['cuda', 'tensorrt', 'tpu'])
    await expect(attempt).rejects.toBeInstanceOf(NoExecutionProviderError)
    const error = (await attempt.catch((e: unknown) => e)) as NoExecutionProviderError
    expect(error.failures.map((f) => f.provider)).toEqual(['cuda', 'tensorrt', 'tpu'])
    expect(error.message).toMatch(/cuda: .+\n.*tensorrt: .+\n.*tpu: unknown provider/)
  })

  it('reports a graph onnxruntime cannot load as the provider failure', async () => {
    const attempt = createSession(new Uint8Array([1, 2, 3, 4]), ['cpu'])
    await expect(attempt).rejects.toThrow(/cpu: /)
  })

  describe('probing each provider once per process', () => {
    afterEach(() => {
      vi.restoreAllMocks()
    })

    it('skips a provider that cannot start by its remembered reason instead of trying it for every model', async () => {
      const first = await createSession(brightnessModel(), ['cuda', 'cpu'])
      const opened = vi.spyOn(ort.InferenceSession, 'create')
      const second = await createSession(brightnessModel(), ['cuda', 'cpu'])
      const third = await createSession(brightnessModel(8), ['cuda', 'cpu'])
      expect(second.skipped).toEqual(first.skipped)
      expect(third.skipped).toEqual(first.skipped)
      expect(executionProviders.outcome('cuda')).toMatchObject({ state: 'failed' })
      const providersAsked = opened.mock.calls.map(([, options]) => (options as ort.InferenceSession.SessionOptions).executionProviders)
      expect(providersAsked).toEqual([['cpu'], ['cpu']])
    })

    it('honours an explicit order that puts a lower-priority provider first', async () => {
      const { provider, skipped } = await createSession(brightnessModel(), ['cpu', 'cuda'])
      expect(provider).toBe('cpu')
      expect(skipped).toEqual([])
    })

    it('lists the known providers by priority', () => {
      expect(executionProviders.names()).toEqual(['cuda', 'webgpu', 'cpu'])
    })
  })
})
