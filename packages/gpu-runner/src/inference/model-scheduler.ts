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

  constructor(
    readonly model: LoadedModel,
    options: BatcherOptions,
    private readonly decodes: Limiter,
    hooks: BatcherHooks = {},
    scheduling: SchedulerOptions = {},
  ) {
    const labels = model.card.labels.length
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

  /** Scores encoded images. Throws `QueueFullError` when the queue is full, `ImagePreprocessError` for a bad image. */
  async scoreImages(images: readonly Uint8Array[]): Promise<Float32Array[]> {
    const admission = this.batcher.admit(images.length)
    const { transform } = this.model
    const decoded = await Promise.allSettled(images.map((image) => this.decodes.run(() => transform(image))))
    const tensors = decoded.flatMap((d) => (d.status === 'fulfilled' ? [d.value] : []))
    const failed = decoded.findIndex((d) => d.status === 'rejected')
    if (failed >= 0) {
      admission.release()
      for (const tensor of tensors) transform.recycle(tensor)
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

  /** Stops the inference worker, if any. */
  async close(): Promise<void> {
    await (await this.worker)?.close()
  }

  /** Scores already-preprocessed input tensors (the FP32 input Triton-style clients send). */
  scoreTensors(tensors: readonly Float32Array[]): Promise<Float32Array[]> {
    return this.batcher.run(this.batcher.admit(tensors.length), tensors)
  }
}
