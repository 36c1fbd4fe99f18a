import { buildMini, type MiniGeneratorName, type MiniProgress } from '@genimage/dataset-tools'
import { TINY_DATASET_OPTIONS, writeBuildMarker } from './tiny-dataset.ts'

/** How often the build marker's progress is rewritten, at most. */
const MARKER_EVERY_MS = 500

/**
 * Runs in the child process of `ensureTinyDataset`: builds the tiny GenImage-mini into `root`, keeps its build marker
 * up to date for `GET /v1/datasets`, sends progress to the parent, and stops cleanly on SIGTERM or SIGINT.
 */
export async function buildTinyDatasetHere(root: string): Promise<void> {
  const controller = new AbortController()
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => controller.abort())
  // The stack that started this build is gone (killed without a word): stop too, a later start continues.
  process.once('disconnect', () => controller.abort())
  let markedAt = 0
  let marking = Promise.resolve()
  const onProgress = (event: MiniProgress) => {
    process.send?.({ progress: event })
    const now = Date.now()
    if (now - markedAt < MARKER_EVERY_MS && event.done < event.total) return
    markedAt = now
    const phase = { photos: 'decoding photos', autoencoder: 'preparing the autoencoder', training: `training ${event.generator}`, images: 'writing images' }[
      event.phase
    ]
    marking = marking.then(() => writeBuildMarker(root, { phase, done: event.done, total: event.total })).catch(() => {})
  }
  const result = await buildMini(root, {
    ...TINY_DATASET_OPTIONS,
    generators: [...TINY_DATASET_OPTIONS.generators] as MiniGeneratorName[],
    onProgress,
    signal: controller.signal,
  })
  await marking
  const finished = { finished: { images: result.written + result.skipped, interrupted: result.interrupted } }
  // Exit once the parent has the message: tfjs' wasm backend may keep the event loop alive.
  if (process.connected) process.send?.(finished, () => process.exit(0))
  else process.exit(0)
}
