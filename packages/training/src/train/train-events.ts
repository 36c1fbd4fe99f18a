import type { TrainEvent } from './events.ts'
import { trainDetector, type TrainOptions, type TrainResult } from './train.ts'

/** A training run seen as an async stream of events, with its result as a promise. */
export interface TrainRun extends AsyncIterable<TrainEvent> {
  result: Promise<TrainResult>
}

/**
 * Starts training and exposes its progress as an async iterator (for job heartbeats and progress bars).
 * Iteration ends when training finishes; a failure rejects both the iterator and `result`.
 *
 * @example
 * const run = trainEvents({ model: 'npr-tiny', dataRoot, trainOn: ['ADM'] })
 * for await (const event of run) if (event.type === 'step') bar.update(event.step)
 * const { detector } = await run.result
 */
export function trainEvents(options: Omit<TrainOptions, 'onProgress'>): TrainRun {
  const queue: TrainEvent[] = []
  let wake: (() => void) | undefined
  let finished = false
  let failure: unknown
  const result = trainDetector({
    ...options,
    onProgress: (event) => {
      queue.push(event)
      wake?.()
    },
  })
  result.then(
    () => {
      finished = true
      wake?.()
    },
    (error: unknown) => {
      finished = true
      failure = error
      wake?.()
    },
  )
  async function* iterate(): AsyncGenerator<TrainEvent> {
    while (true) {
      const event = queue.shift()
      if (event) {
        yield event
        continue
      }
      if (finished) {
        if (failure !== undefined) throw failure
        return
      }
      await new Promise<void>((resolve) => (wake = resolve))
      wake = undefined
    }
  }
  result.catch(() => undefined)
  return { result, [Symbol.asyncIterator]: iterate }
}
