import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { InferenceWorker } from '../src/inference/inference-worker.ts'
import { Limiter } from '../src/inference/limiter.ts'
import { ModelScheduler } from '../src/inference/model-scheduler.ts'
import { runModel } from '../src/inference/run-model.ts'
import { isMainSessionReleased, loadModelRepository, type LoadedModel } from '../src/repository/model-repository.ts'
import { sigmoid, writeBrightnessModel } from './brightness-model.ts'

let dir: string
let model: LoadedModel

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-worker-'))
  await writeBrightnessModel(join(dir, 'brightness'))
  model = (await loadModelRepository(dir, { providers: ['cpu'], maxPixels: 1_000_000 })).models.get('brightness') as LoadedModel
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('InferenceWorker', () => {
  it('scores a batch on its own thread exactly as the main-thread session does', async () => {
    const worker = await InferenceWorker.open(model, { allowSpinning: false })
    onTestFinished(() => worker.close())
    const plane = 3 * 16 * 16
    const images = [new Float32Array(plane).fill(1), new Float32Array(plane).fill(-1), new Float32Array(plane).fill(0.25)]
    const [fromWorker, fromMain] = await Promise.all([worker.run(images), runModel(model, images)])
    expect(Array.from(fromWorker)).toEqual(Array.from(fromMain))
    expect(fromWorker[1]).toBeCloseTo(sigmoid(2), 5)
    await expect(worker.run([new Float32Array(5)])).rejects.toThrow(/expected 768/)
    await worker.close()
    await expect(worker.run(images)).rejects.toThrow(/closed|exited/)
  })

  it('reuses the batch buffers it gets back without mixing batches, whatever their sizes', async () => {
    const worker = await InferenceWorker.open(model, { allowSpinning: false })
    onTestFinished(() => worker.close())
    const plane = 3 * 16 * 16
    const image = (level: number) => new Float32Array(plane).fill(level)
    const batches = [[1, -1, 0.25, 0.5], [0.75], [-0.5, 2], [0, 1, -1], [3, -3, 0.1, -0.1]].map((levels) => levels.map(image))
    // Sequential and overlapping runs: spare buffers are larger than later batches and come back out of order.
    const sequential: Float32Array[] = []
    for (const batch of batches) sequential.push(await worker.run(batch))
    const overlapping = await Promise.all(batches.map((batch) => worker.run(batch)))
    const expected = await Promise.all(batches.map((batch) => runModel(model, batch)))
    expect(sequential.map((r) => Array.from(r))).toEqual(expected.map((r) => Array.from(r)))
    expect(overlapping.map((r) => Array.from(r))).toEqual(expected.map((r) => Array.from(r)))
    for (const batch of batches) for (const input of batch) expect(input.byteLength).toBe(plane * 4)
  })

  it('fails to open with the reason when the model file is missing', async () => {
    await expect(InferenceWorker.open({ ...model, dir: join(dir, 'nowhere') })).rejects.toThrow(/ENOENT|no such file/)
  })
})

describe('ModelScheduler with releaseMainSession', () => {
  it('frees the idle main-thread session once its worker runs, and keeps scoring on the worker', async () => {
    const own = (await loadModelRepository(dir, { providers: ['cpu'], maxPixels: 1_000_000 })).models.get('brightness') as LoadedModel
    const scheduler = new ModelScheduler(own, { maxBatchSize: 4, maxQueueDelayMs: 1, maxQueueSize: 8 }, new Limiter(2), {}, { releaseMainSession: true })
    const white = await sharpPng(255)
    const [scores] = await scheduler.scoreImages([white])
    expect(isMainSessionReleased(own)).toBe(true)
    expect(scores?.[1]).toBeCloseTo(sigmoid(2), 4)
    await expect(runModel(own, [new Float32Array(3 * 16 * 16)])).rejects.toThrow(/released/)
    expect(isMainSessionReleased(model)).toBe(false)
    await scheduler.close()
  })
})

describe('ModelScheduler tensor reuse', () => {
  it('hands every tensor back to the transform once its batch ran, also when another image of the request failed', async () => {
    const own = (await loadModelRepository(dir, { providers: ['cpu'], maxPixels: 1_000_000 })).models.get('brightness') as LoadedModel
    const made: Float32Array[] = []
    const recycled: Float32Array[] = []
    const inner = own.transform
    const transform = Object.assign(
      async (bytes: Uint8Array) => {
        const tensor = await inner(bytes)
        made.push(tensor)
        return tensor
      },
      {
        recycle: (tensor: Float32Array) => {
          recycled.push(tensor)
          inner.recycle(tensor)
        },
      },
    )
    const scheduler = new ModelScheduler({ ...own, transform }, { maxBatchSize: 4, maxQueueDelayMs: 1, maxQueueSize: 8 }, new Limiter(2), {}, { worker: false })
    const white = await sharpPng(255)
    const black = await sharpPng(0)
    const scores = await scheduler.scoreImages([white, black, white])
    expect(scores.map((s) => s[1] as number).map((p) => p > 0.5)).toEqual([true, false, true])
    // Each time a tensor was handed out it came back once (a tensor can be handed out again after it came back).
    const count = (list: Float32Array[], t: Float32Array) => list.filter((x) => x === t).length
    const onceEach = () => recycled.length === made.length && made.every((t) => count(made, t) === count(recycled, t))
    expect(made).toHaveLength(3)
    expect(onceEach()).toBe(true)
    await expect(scheduler.scoreImages([white, new Uint8Array([1, 2, 3])])).rejects.toThrow()
    expect(made).toHaveLength(4)
    expect(onceEach()).toBe(true)
    // The next image reuses a recycled tensor and still scores right.
    const [again] = await scheduler.scoreImages([black])
    expect((again as Float32Array)[1]).toBeLessThan(0.5)
    expect(recycled.includes(made.at(-1) as Float32Array)).toBe(true)
    await scheduler.close()
  })
})

function sharpPng(level: number): Promise<Uint8Array> {
  return sharp({ create: { width: 16, height: 16, channels: 3, background: { r: level, g: level, b: level } } })
    .png()
    .toBuffer()
}
