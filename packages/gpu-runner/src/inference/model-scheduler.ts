import { jpegSize, pngSize } from '@genimage/shared/genimage'
import { type LoadedModel, releaseMainSession } from '../repository/model-repository.ts'
import { type BatcherHooks, type BatcherOptions, DynamicBatcher } from './batcher.ts'
import type { SessionTuning } from './execution-providers.ts'
import { InferenceWorker } from './inference-worker.ts'
import type { Limiter } from './limiter.ts'
import { runModel } from './run-model.ts'

/** Where `session.run` executes. */
export interface SchedulerOptions {
  /**
   * Run the session on a worker thread (default). onnxruntime-node's `run` blocks the thread that calls it,
   * so on the main thread no request is read and no batch is assembled while a batch computes.
   */
  worker?: boolean
  tuning?: SessionTuning
  /** Told when the worker could not start and the main-thread session is used instead. */
  onWorkerFailure?: (error: Error) => void
  /**
   * Free the model's main-thread session once the worker is up (a server that owns its model repository; see
   * `releaseMainSession`). Off by default, for callers that share one repository between servers.
   */
  releaseMainSession?: boolean
  /** Images of at least this many pixels (by their PNG or JPEG header) decode as heavy tasks (default 16 MP). */
  heavyDecodePixels?: number
}

/** Whose decodes these are and what cancels them: the request, and its connection's abort signal. */
export interface ScoreRequest {
  /** Decodes are shared round-robin between owners (one owner per HTTP request). */
  owner?: unknown
  /** Aborted when the request's client goes away: its decodes still waiting are dropped. */
  signal?: AbortSignal
}

export const DEFAULT_HEAVY_DECODE_PIXELS = 16_000_000

/**
 * Whether decoding `image` is heavy: its PNG or JPEG header states at least `heavyPixels` pixels, or (other formats,
 * whose headers are not read here) it is over 8 MiB.
 */
export function isHeavyDecode(image: Uint8Array, heavyPixels = DEFAULT_HEAVY_DECODE_PIXELS): boolean {
  const size = pngSize(image) ?? jpegSize(image)
  return size ? size.width * size.height >= heavyPixels : image.byteLength > 8 * 1024 * 1024
}

/** Raised when image `index` of a request could not be preprocessed; `cause` is the transform's error. */
export class ImagePreprocessError extends Error {
  override name = 'ImagePreprocessError'
  constructor(
    readonly index: number,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause))
  }
}

/**
 * Serves one model: admits a request's images into a bounded queue, decodes them under the runner-wide
 * decode limiter (so decoding overlaps the batch running now), then scores them through the dynamic batcher.
 * Returns one probability row (`labels.length` values) per image.
 */
export class ModelScheduler {
  readonly batcher: DynamicBatcher<Float32Array, Float32Array>
  private readonly worker: Promise<InferenceWorker | undefined>
  readonly heavyDecodePixels: number

  constructor(
    readonly model: LoadedModel,
    options: BatcherOptions,
    private readonly decodes: Limiter,
    hooks: BatcherHooks = {},
    scheduling: SchedulerOptions = {},
  ) {
    const labels = model.card.labels.length
    this.heavyDecodePixels = scheduling.heavyDecodePixels ?? DEFAULT_HEAVY_DECODE_PIXELS
    this.worker =
      scheduling.worker === false
        ? Promise.resolve(undefined)
        : InferenceWorker.open(model, scheduling.tuning).then(
            async (worker) => {
              if (scheduling.releaseMainSession) await releaseMainSession(model)
              return worker
            },
            (error: Error) => {
              scheduling.onWorkerFailure?.(error)
              return undefined
            },
          )
    this.batcher = new DynamicBatcher<Float32Array, Float32Array>(
      async (tensors) => {
        const worker = await this.worker
        const flat = worker ? await worker.run(tensors) : await runModel(model, tensors)
        return tensors.map((_, i) => flat.slice(i * labels, (i + 1) * labels))
      },
      options,
      hooks,
    )
  }

  /**
   * Scores encoded images. Throws `QueueFullError` when the queue is full, `ImagePreprocessError` for a bad image,
   * and the signal's reason when `request.signal` aborts before every image is decoded.
   */
  async scoreImages(images: readonly Uint8Array[], request: ScoreRequest = {}): Promise<Float32Array[]> {
    const admission = this.batcher.admit(images.length)
    const { transform } = this.model
    const decoded = await Promise.allSettled(images.map((image) => this.decode(image, () => transform(image), request)))
    const tensors = decoded.flatMap((d) => (d.status === 'fulfilled' ? [d.value] : []))
    const failed = decoded.findIndex((d) => d.status === 'rejected')
    if (failed >= 0 || request.signal?.aborted) {
      admission.release()
      for (const tensor of tensors) transform.recycle(tensor)
      request.signal?.throwIfAborted()
      throw new ImagePreprocessError(failed, (decoded[failed] as PromiseRejectedResult).reason)
    }
    try {
      return await this.batcher.run(admission, tensors)
    } finally {
      // The batch copied the values (InferenceWorker.run and runModel both do, before they start): the tensors
      // go back to the transform for the next images.
      for (const tensor of tensors) transform.recycle(tensor)
    }
  }

  /** Runs one image's decode under the runner-wide decode limiter, as `request`'s task, heavy or not by its header. */
  decode<T>(image: Uint8Array, task: () => Promise<T>, request: ScoreRequest = {}): Promise<T> {
    return this.decodes.run(task, { owner: request.owner, signal: request.signal, heavy: isHeavyDecode(image, this.heavyDecodePixels) })
  }

  /** Stops the inference worker, if any. */
  async close(): Promise<void> {
    await (await this.worker)?.close()
  }

  /** Scores already-preprocessed input tensors (the FP32 input Triton-style clients send). */
  scoreTensors(tensors: readonly Float32Array[]): Promise<Float32Array[]> {
    return this.batcher.run(this.batcher.admit(tensors.length), tensors)
  }
}
