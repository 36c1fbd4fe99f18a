import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { LoadedModel } from '../repository/model-repository.ts'
import { type SessionTuning, sessionOptions } from './execution-providers.ts'
import { softmaxRows } from './run-model.ts'

/** Batch buffers kept for reuse: one in flight and one being filled is what a busy model needs. */
const MAX_SPARE_BATCH_BUFFERS = 2

type Reply = { id: number; data: Float32Array; input?: Float32Array } | { id: number; error: string }

/**
 * A model's onnxruntime session on its own worker thread (same ONNX file, provider and threading as the
 * main-thread session). `run` has the contract of `runModel`: preprocessed images in, softmax rows out.
 */
export class InferenceWorker {
  private readonly pending = new Map<number, { resolve: (d: Float32Array) => void; reject: (e: Error) => void }>()
  private nextId = 0
  private failure: Error | undefined
  /**
   * Batch buffers the worker handed back after its run: each batch's input (several MB for 8 images at 224²)
   * travels to the worker and back by transfer, never copied and not allocated again, which spares the event
   * loop's thread the allocation and the garbage collections it would bring.
   */
  private readonly spare: ArrayBuffer[] = []

  private constructor(
    private readonly worker: Worker,
    private readonly model: LoadedModel,
  ) {
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id)
      if (!waiter) return
      this.pending.delete(reply.id)
      if ('error' in reply) waiter.reject(new Error(reply.error))
      else {
        if (reply.input && this.spare.length < MAX_SPARE_BATCH_BUFFERS) this.spare.push(reply.input.buffer as ArrayBuffer)
        waiter.resolve(reply.data)
      }
    })
    const fail = (error: Error) => {
      this.failure = error
      for (const waiter of this.pending.values()) waiter.reject(error)
      this.pending.clear()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`inference worker exited with code ${code}`)))
  }

  /** Starts the worker and waits until its session is open; rejects with the worker's error otherwise. */
  static open(model: LoadedModel, tuning: SessionTuning = {}): Promise<InferenceWorker> {
    const worker = new Worker(new URL('./session-worker.mjs', import.meta.url), {
      workerData: { modelPath: join(model.dir, model.card.file), options: sessionOptions(model.provider, tuning) },
    })
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error)
      worker.once('error', onError)
      worker.once('exit', (code) => reject(new Error(`inference worker exited with code ${code} before it was ready`)))
      worker.once('message', (message: { type?: string }) => {
        if (message.type !== 'ready') return reject(new Error('inference worker sent an unexpected first message'))
        worker.off('error', onError)
        worker.removeAllListeners('exit')
        worker.unref()
        resolve(new InferenceWorker(worker, model))
      })
    })
  }

  /** Runs one batch; resolves with `labels.length` probabilities per image, flat. */
  async run(images: readonly Float32Array[]): Promise<Float32Array> {
    if (this.failure) throw this.failure
    const { height, width, layout } = this.model.card.input
    const perImage = 3 * height * width
    const batch = this.batchBuffer(perImage * images.length)
    images.forEach((image, i) => {
      if (image.length !== perImage) throw new RangeError(`image ${i} has ${image.length} values, expected ${perImage}`)
      batch.set(image, i * perImage)
    })
    const dims = layout === 'NCHW' ? [images.length, 3, height, width] : [images.length, height, width, 3]
    const id = this.nextId++
    const logits = await new Promise<Float32Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ type: 'run', id, input: this.model.card.input.name, output: this.model.card.output.name, dims, data: batch }, [batch.buffer])
    })
    const labels = this.model.card.labels.length
    if (logits.length !== labels * images.length) throw new Error(`model output has ${logits.length} values, expected ${labels} per image`)
    return softmaxRows(logits, labels)
  }

  /** A Float32Array of exactly `length` values over a spare buffer when one is large enough, else a new one. */
  private batchBuffer(length: number): Float32Array<ArrayBuffer> {
    const at = this.spare.findIndex((buffer) => buffer.byteLength >= length * 4)
    if (at < 0) return new Float32Array(length)
    const [buffer] = this.spare.splice(at, 1) as [ArrayBuffer]
    return new Float32Array(buffer, 0, length)
  }

  /** Stops the worker thread. */
  async close(): Promise<void> {
    this.failure ??= new Error('inference worker closed')
    await this.worker.terminate()
  }
}
