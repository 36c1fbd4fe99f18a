import { describe, expect, it } from 'vitest'
import { Limiter } from '../src/inference/limiter.ts'

/** A task that runs until `finish()` is called, recording its start. */
function gate(started: string[], name: string) {
  let finish!: () => void
  const done = new Promise<void>((resolve) => {
    finish = resolve
  })
  const task = () => {
    started.push(name)
    return done
  }
  return { task, finish: () => finish() }
}

const flush = () => new Promise((resolve) => setImmediate(resolve))

describe('Limiter', () => {
  it('starts waiting tasks round-robin between owners, so one request with many tasks cannot hold back another', async () => {
    const limiter = new Limiter(1)
    const started: string[] = []
    const first = gate(started, 'heavy-0')
    const heavy = { id: 'heavy' }
    const light = { id: 'light' }
    const running = [limiter.run(first.task, { owner: heavy })]
    const gates = [first]
    for (let i = 1; i < 4; i++) {
      const g = gate(started, `heavy-${i}`)
      gates.push(g)
      running.push(limiter.run(g.task, { owner: heavy }))
    }
    const lightGate = gate(started, 'light-0')
    running.push(limiter.run(lightGate.task, { owner: light }))
    gates.push(lightGate)
    for (const g of [first, lightGate, ...gates.slice(1, 4)]) {
      g.finish()
      await flush()
    }
    await Promise.all(running)
    expect(started).toEqual(['heavy-0', 'light-0', 'heavy-1', 'heavy-2', 'heavy-3'])
  })

  it('runs at most heavyLimit heavy tasks at once and lets light tasks past waiting heavy ones', async () => {
    const limiter = new Limiter(3, 1)
    const started: string[] = []
    const h1 = gate(started, 'h1')
    const h2 = gate(started, 'h2')
    const l1 = gate(started, 'l1')
    const runs = [limiter.run(h1.task, { heavy: true }), limiter.run(h2.task, { heavy: true }), limiter.run(l1.task)]
    await flush()
    expect(started).toEqual(['h1', 'l1'])
    expect(limiter.running).toBe(2)
    h1.finish()
    await flush()
    expect(started).toEqual(['h1', 'l1', 'h2'])
    h2.finish()
    l1.finish()
    await Promise.all(runs)
    expect(limiter.running).toBe(0)
  })

  it('drops a waiting task whose signal aborts: it never runs and its slot goes to the next', async () => {
    const limiter = new Limiter(1)
    const started: string[] = []
    const busy = gate(started, 'busy')
    const cancelled = gate(started, 'cancelled')
    const next = gate(started, 'next')
    const controller = new AbortController()
    const running = limiter.run(busy.task)
    const dropped = limiter.run(cancelled.task, { signal: controller.signal })
    const after = limiter.run(next.task)
    controller.abort(new Error('client went away'))
    await expect(dropped).rejects.toThrow('client went away')
    expect(limiter.pending).toBe(1)
    busy.finish()
    await flush()
    next.finish()
    await Promise.all([running, after])
    expect(started).toEqual(['busy', 'next'])
    await expect(limiter.run(async () => 1, { signal: controller.signal })).rejects.toThrow('client went away')
  })
})
