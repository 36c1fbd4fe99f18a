import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'
import { resolveTfBackend, TF_BACKEND_ENV, TF_BACKEND_NAMES, TfBackendError, tfBackends, type TfBackendName, wantedTfBackend } from '../src/tf/index.ts'

describe('resolveTfBackend', () => {
  it('falls back from tensorflow (not installed here) to wasm, records why, and logs the choice', async () => {
    const lines: string[] = []
    const resolved = await resolveTfBackend({ priority: ['tensorflow', 'wasm', 'cpu'], log: (l) => lines.push(l) })
    expect(resolved.name).toBe('wasm')
    expect(resolved.tf.getBackend()).toBe('wasm')
    // Stock tfjs-backend-wasm runs one thread under Node; the project's patch gives one per logical core.
    expect(resolved.threads).toBe(Math.min(availableParallelism(), 8))
    expect(resolved.reasons.map((r) => r.name)).toEqual(['tensorflow'])
    expect(resolved.reasons[0]?.reason).toMatch(/@tensorflow\/tfjs-node-gpu: .*; @tensorflow\/tfjs-node: /)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^tfjs backend: wasm .*skipped tensorflow/)
    const sum = resolved.tf.tidy(() => resolved.tf.add(resolved.tf.tensor([1, 2]), 3).dataSync())
    expect(Array.from(sum)).toEqual([4, 5])
  })

  it('resolves cpu when asked for it first', async () => {
    const resolved = await resolveTfBackend({ priority: ['cpu', 'wasm'], log: () => {} })
    expect(resolved.name).toBe('cpu')
    expect(resolved.tf.getBackend()).toBe('cpu')
    expect(resolved.reasons).toEqual([])
  })

  it('throws one error listing why each backend failed when none works', async () => {
    const error = await resolveTfBackend({ priority: ['tensorflow'], log: () => {} }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TfBackendError)
    expect((error as TfBackendError).code).toBe('tf_backend_unavailable')
    expect((error as TfBackendError).message).toMatch(
      /no tfjs backend could start:\n {2}- tensorflow: @tensorflow\/tfjs-node-gpu: not installed; @tensorflow\/tfjs-node: not installed/,
    )
  })

  it('rejects unknown backend names, listing the known ones', async () => {
    const error = await resolveTfBackend({ priority: ['webgl' as TfBackendName], log: () => {} }).catch((e: unknown) => e)
    expect((error as TfBackendError).code).toBe('tf_backend_unknown')
    expect((error as TfBackendError).message).toContain('known: tensorflow, webgpu, wasm, cpu')
  })

  it('takes the backend asked for by name from `backend`, else GENIMAGE_TF_BACKEND, and rejects unknown names saying where they came from', () => {
    const saved = process.env[TF_BACKEND_ENV]
    try {
      delete process.env[TF_BACKEND_ENV]
      expect(wantedTfBackend()).toBeUndefined()
      expect(wantedTfBackend('auto')).toBeUndefined()
      expect(wantedTfBackend('webgpu')).toBe('webgpu')
      process.env[TF_BACKEND_ENV] = 'wasm'
      expect(wantedTfBackend()).toBe('wasm')
      expect(wantedTfBackend('cpu')).toBe('cpu')
      expect(wantedTfBackend('auto')).toBeUndefined()
      process.env[TF_BACKEND_ENV] = 'webgl'
      expect(() => wantedTfBackend()).toThrow(/unknown tfjs backend 'webgl' \(GENIMAGE_TF_BACKEND\); known: auto, tensorflow, webgpu, wasm, cpu/)
      expect(() => wantedTfBackend('cuda')).toThrow(expect.objectContaining({ code: 'tf_backend_unknown' }))
    } finally {
      if (saved === undefined) delete process.env[TF_BACKEND_ENV]
      else process.env[TF_BACKEND_ENV] = saved
    }
  })

  it('puts the named backend first: GENIMAGE_TF_BACKEND=cpu wins over the priorities when none are given', async () => {
    const saved = process.env[TF_BACKEND_ENV]
    process.env[TF_BACKEND_ENV] = 'cpu'
    try {
      expect((await resolveTfBackend({ log: () => {} })).name).toBe('cpu')
      // An explicit priority list is the caller's choice; the variable does not reorder it.
      expect((await resolveTfBackend({ priority: ['wasm', 'cpu'], log: () => {} })).name).toBe('wasm')
      expect((await resolveTfBackend({ backend: 'cpu', priority: ['wasm', 'cpu'], log: () => {} })).name).toBe('cpu')
    } finally {
      if (saved === undefined) delete process.env[TF_BACKEND_ENV]
      else process.env[TF_BACKEND_ENV] = saved
    }
  })

  it('starts each backend once per process: a later resolve reuses the started one and skips a failed one by its remembered reason', async () => {
    const first = await resolveTfBackend({ priority: ['tensorflow', 'wasm'], log: () => {} })
    const remembered = tfBackends.outcome('tensorflow')
    expect(remembered).toEqual({ state: 'failed', reason: first.reasons[0]?.reason })
    const lines: string[] = []
    const again = await resolveTfBackend({ priority: ['tensorflow', 'wasm'], threads: 1, log: (l) => lines.push(l) })
    expect(tfBackends.outcome('tensorflow')).toBe(remembered)
    expect(again.reasons).toEqual(first.reasons)
    // The XNNPACK pool was sized when wasm started; a later resolve does not re-initialise it.
    expect(again.threads).toBe(first.threads)
    expect(lines[0]).toMatch(/^tfjs backend: wasm .*skipped tensorflow: @tensorflow\/tfjs-node-gpu/)
  })

  it('makes an explicitly named lower-priority backend the active one, and switches back when asked', async () => {
    expect((await resolveTfBackend({ priority: ['cpu'], log: () => {} })).tf.getBackend()).toBe('cpu')
    expect((await resolveTfBackend({ priority: ['wasm', 'cpu'], log: () => {} })).tf.getBackend()).toBe('wasm')
  })

  it('registers the known backends by priority, fastest first', () => {
    expect(tfBackends.names()).toEqual([...TF_BACKEND_NAMES])
  })
})
