import { describe, expect, it } from 'vitest'
import { DynamicBatcher, QueueFullError } from '../src/inference/batcher.ts'
import { Limiter } from '../src/inference/limiter.ts'

const deferred = () => {
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  return { gate, release }
}

/** A batcher over numbers whose "model" doubles each item and records the batch sizes it saw. */
function doubling(options: { maxBatchSize: number; maxQueueDelayMs: number; maxQueueSize: number }, gate?: Promise<void>) {
  const batches: number[][] = []
  const batcher = new DynamicBatcher<number, number>(async (items) => {
    batches.push([...items])
    await gate
    return items.map((x) => x * 2)
  }, options)
  const submit = (items: number[]) => batcher.run(batcher.admit(items.length), items)
  return { batcher, batches, submit }
}

describe('DynamicBatcher', () => {
  it('answers each request with its own outputs, in order, from shared batches', async () => {
    const { batches, submit } = doubling({ maxBatchSize: 4, maxQueueDelayMs: 20, maxQueueSize: 100 })
    const answers = await Promise.all([submit([1, 2]), submit([3]), submit([4, 5, 6]), submit([7])])
    expect(answers).toEqual([[2, 4], [6], [8, 10, 12], [14]])
    expect(batches.flat().sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(batches[0]).toHaveLength(4)
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(4)
  })

  it('runs a partial batch once the oldest item has waited the maximum queue delay', async () => {
    const { batches, submit } = doubling({ maxBatchSize: 8, maxQueueDelayMs: 40, maxQueueSize: 100 })
    const started = performance.now()
    expect(await submit([21])).toEqual([42])
    expect(performance.now() - started).toBeGreaterThanOrEqual(35)
    expect(batches).toEqual([[21]])
  })

  it('collects items that arrive while a batch runs into the next batch', async () => {
    const { gate, release } = deferred()
    const { batches, submit } = doubling({ maxBatchSize: 8, maxQueueDelayMs: 0, maxQueueSize: 100 }, gate)
    const first = submit([1])
    await new Promise((r) => setTimeout(r, 5))
    const rest = Promise.all([submit([2]), submit([3]), submit([4])])
    release()
    await Promise.all([first, rest])
    expect(batches).toEqual([[1], [2, 3, 4]])
  })

  it('refuses work beyond the queue bound with a retry hint, and takes it again once room frees', async () => {
    const { gate, release } = deferred()
    const { batcher, submit } = doubling({ maxBatchSize: 2, maxQueueDelayMs: 0, maxQueueSize: 3 }, gate)
    const running = submit([1, 2, 3])
    expect(batcher.admitted).toBe(3)
    let refused: unknown
    try {
      batcher.admit(1)
    } catch (error) {
      refused = error
    }
    expect(refused).toBeInstanceOf(QueueFullError)
    expect((refused as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1)
    expect(() => batcher.admit(4)).toThrow(QueueFullError)
    release()
    expect(await running).toEqual([2, 4, 6])
    expect(batcher.admitted).toBe(0)
    expect(await submit([5])).toEqual([10])
  })

  it('fails only the batch whose run threw and keeps serving', async () => {
    let calls = 0
    const batcher = new DynamicBatcher<number, number>(
      async (items) => {
        calls += 1
        if (calls === 1) throw new Error('session exploded')
        return items.map((x) => x + 1)
      },
      { maxBatchSize: 1, maxQueueDelayMs: 0, maxQueueSize: 10 },
    )
    const a = batcher.run(batcher.admit(1), [1])
    const b = batcher.run(batcher.admit(1), [2])
    await expect(a).rejects.toThrow('session exploded')
    expect(await b).toEqual([3])
    expect(batcher.admitted).toBe(0)
  })

  it('rejects nonsensical options', () => {
    const run = async (xs: number[]) => xs
    expect(() => new DynamicBatcher(run, { maxBatchSize: 0, maxQueueDelayMs: 1, maxQueueSize: 1 })).toThrow(/maxBatchSize/)
    expect(() => new DynamicBatcher(run, { maxBatchSize: 1, maxQueueDelayMs: -1, maxQueueSize: 1 })).toThrow(/maxQueueDelayMs/)
  })
})

describe('Limiter', () => {
  it('never runs more than its limit at once and runs everything', async () => {
    const limiter = new Limiter(3)
    let active = 0
    let peak = 0
    const done = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limiter.run(async () => {
          active += 1
          peak = Math.max(peak, active)
          await new Promise((r) => setTimeout(r, 2))
          active -= 1
          return i
        }),
      ),
    )
    expect(done).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(peak).toBe(3)
    expect(limiter.running).toBe(0)
  })
})
