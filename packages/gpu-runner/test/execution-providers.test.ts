import { describe, expect, it } from 'vitest'
import { createSession, NoExecutionProviderError } from '../src/inference/execution-providers.ts'
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
})
