import { describe, expect, it } from 'vitest'
import { type BackendFailure, createBackendRegistry } from '../src/backend-registry.ts'

class NoneWorked extends Error {
  constructor(readonly failures: BackendFailure[]) {
    super(`nothing worked:\n${failures.map((f) => `  - ${f.name}: ${f.reason}`).join('\n')}`)
  }
}

type Name = 'fast' | 'medium' | 'slow'

/** A registry whose `fast` backend cannot start and whose starts are counted. */
function registryWithCounts() {
  const starts: Record<Name, number> = { fast: 0, medium: 0, slow: 0 }
  const registry = createBackendRegistry<Name, { threads: number }, string>({ label: 'engine', unavailable: (f) => new NoneWorked(f) })
  registry.register('slow', 100, async ({ threads }) => `slow×${++starts.slow}×${threads}`)
  registry.register('fast', 300, async () => {
    starts.fast++
    throw new Error('driver missing\nstack detail')
  })
  registry.register('medium', 200, async ({ threads }) => `medium×${++starts.medium}×${threads}`)
  return { registry, starts }
}

const useAsIs = async (_name: Name, started: string) => started

describe('createBackendRegistry', () => {
  it('tries backends by priority and says why the ones before the chosen one failed', async () => {
    const { registry } = registryWithCounts()
    expect(registry.names()).toEqual(['fast', 'medium', 'slow'])
    const resolved = await registry.resolve({ settings: { threads: 2 }, use: useAsIs })
    expect(resolved).toEqual({ name: 'medium', value: 'medium×1×2', failures: [{ name: 'fast', reason: 'driver missing' }] })
  })

  it('remembers each start-up outcome: a failed backend is not retried, a started one not re-initialised', async () => {
    const { registry, starts } = registryWithCounts()
    await registry.resolve({ settings: { threads: 2 }, use: useAsIs })
    const again = await registry.resolve({ settings: { threads: 8 }, use: useAsIs })
    expect(again.value).toBe('medium×1×2')
    expect(again.failures).toEqual([{ name: 'fast', reason: 'driver missing' }])
    expect(starts).toEqual({ fast: 1, medium: 1, slow: 0 })
    expect(registry.outcome('fast')).toEqual({ state: 'failed', reason: 'driver missing' })
    expect(registry.outcome('slow')).toBeUndefined()
  })

  it('starts a backend once when two resolves race for it', async () => {
    const { registry, starts } = registryWithCounts()
    await Promise.all([registry.resolve({ settings: { threads: 1 }, use: useAsIs }), registry.resolve({ settings: { threads: 1 }, use: useAsIs })])
    expect(starts).toEqual({ fast: 1, medium: 1, slow: 0 })
  })

  it('honours an explicit order, even a lower-priority backend first', async () => {
    const { registry, starts } = registryWithCounts()
    const resolved = await registry.resolve({ order: ['slow', 'medium'], settings: { threads: 1 }, use: useAsIs })
    expect(resolved).toEqual({ name: 'slow', value: 'slow×1×1', failures: [] })
    expect(starts).toEqual({ fast: 0, medium: 0, slow: 1 })
  })

  it('counts a failing use as a failure of that resolve only, and moves on', async () => {
    const { registry, starts } = registryWithCounts()
    const picky = async (name: Name, started: string) => {
      if (name === 'medium') throw new Error('cannot open this model')
      return started
    }
    const resolved = await registry.resolve({ settings: { threads: 1 }, use: picky })
    expect(resolved.name).toBe('slow')
    expect(resolved.failures.map((f) => f.reason)).toEqual(['driver missing', 'cannot open this model'])
    expect(registry.outcome('medium')?.state).toBe('started')
    expect((await registry.resolve({ settings: { threads: 1 }, use: useAsIs })).name).toBe('medium')
    expect(starts.medium).toBe(1)
  })

  it('throws one error listing every failure, unknown names included', async () => {
    const { registry } = registryWithCounts()
    const error = await registry.resolve({ order: ['fast', 'quantum'], settings: { threads: 1 }, use: useAsIs }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NoneWorked)
    expect((error as NoneWorked).failures).toEqual([
      { name: 'fast', reason: 'driver missing' },
      { name: 'quantum', reason: 'unknown engine (known: fast, medium, slow)' },
    ])
    expect((error as NoneWorked).message).toBe('nothing worked:\n  - fast: driver missing\n  - quantum: unknown engine (known: fast, medium, slow)')
  })

  it('refuses a second registration under the same name', () => {
    const { registry } = registryWithCounts()
    expect(() => registry.register('slow', 1, async () => 'again')).toThrow(/engine 'slow' is already registered/)
  })
})
