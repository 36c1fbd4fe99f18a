/**
 * Runs `task` over a stream with at most `limit` tasks in flight. The source is pulled only as fast as tasks
 * finish, so memory stays bounded however long the stream is. The first task error stops the run and is thrown.
 */
export async function forEachConcurrent<T>(
  source: AsyncIterable<T> | Iterable<T>,
  limit: number,
  task: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const inFlight = new Set<Promise<void>>()
  let failure: { error: unknown } | undefined
  for await (const item of source) {
    if (failure || signal?.aborted) break
    const running: Promise<void> = task(item).then(
      () => void inFlight.delete(running),
      (error: unknown) => {
        inFlight.delete(running)
        failure ??= { error }
      },
    )
    inFlight.add(running)
    if (inFlight.size >= limit) await Promise.race(inFlight)
  }
  await Promise.all(inFlight)
  if (failure) throw failure.error
}

/** A sensible number of images in flight for sharp on this machine (libvips runs one thread per image here). */
export function defaultImageConcurrency(): number {
  return 4
}
