import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeBinaryInferRequest, encodeBytesTensor, InferResponse, ModelCard } from '@genimage/shared'
import { createDb, manifestImages } from '@genimage/shared/db'
import * as tf from '@tensorflow/tfjs'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { resolveZooModel } from '@genimage/shared/zoo'
import { writeModelFolder } from '@genimage/training/export'
import { loadModelRepository } from '../src/repository/model-repository.ts'
import { createRunnerApp } from '../src/server/runner-app.ts'
import { resolveTfBackend } from '@genimage/training/tf'
import { BatchSource } from '@genimage/training/train'
import { loadSplit } from '@genimage/training/train'
import { trainDetector, trainEvents, TrainingCancelledError, type TrainEvent, type TrainOptions } from '@genimage/training/train'
import { makeSyntheticDataset } from '@genimage/training/train'

let root: string
let work: string

beforeAll(async () => {
  await resolveTfBackend({ priority: ['wasm', 'cpu'], log: () => {} })
  root = await makeSyntheticDataset({ generators: ['GenA', 'GenB'], size: 64, trainPerClass: 16, valPerClass: 8 })
  work = await mkdtemp(join(tmpdir(), 'genimage-train-work-'))
})

afterAll(async () => {
  await rm(root, { recursive: true, force: true })
  await rm(work, { recursive: true, force: true })
})

const base = (): TrainOptions => ({ model: 'npr-tiny', dataRoot: root, trainOn: ['GenA'], epochs: 3, batchSize: 8, seed: 42 })

async function weightsOf(result: Awaited<ReturnType<typeof trainDetector>>): Promise<number[]> {
  const out: number[] = []
  for (const variable of result.detector.params.all().values()) out.push(...((await variable.data()) as Float32Array))
  return out
}

/** Records every image of a root in the shared manifest table the way `genimage dataset manifest` does (0-byte files as `unknown`). */
async function writeManifest(url: string, dataset: string): Promise<void> {
  const db = await createDb(url)
  for (const generator of await readdir(dataset)) {
    for (const split of ['train', 'val']) {
      for (const label of ['ai', 'nature']) {
        for (const name of await readdir(join(dataset, generator, split, label))) {
          const info = await stat(join(dataset, generator, split, label, name))
          const format = info.size === 0 ? 'unknown' : name.endsWith('.png') ? 'png' : 'jpeg'
          await db.insert(manifestImages).values({
            dataset,
            path: `${generator}/${split}/${label}/${name}`,
            generator,
            split,
            label,
            format,
            width: 64,
            height: 64,
            bytes: info.size,
            sha256: '0'.repeat(64),
            mtimeMs: Math.round(info.mtimeMs),
          })
        }
      }
    }
  }
  db.$client.close()
}

describe('trainDetector (npr-tiny on a synthetic GenImage-layout root)', () => {
  it('learns well above chance, reports progress, and writes a folder the runner serves over OIP v2', async () => {
    const events: TrainEvent[] = []
    const result = await trainDetector({ ...base(), onProgress: (event) => void events.push(event) })
    expect(result.valAccuracy).toBeGreaterThanOrEqual(0.9)
    expect(Object.keys(result.evaluation.perGenerator).sort()).toEqual(['GenA', 'GenB'])

    const steps = events.filter((e) => e.type === 'step')
    expect(events[0]).toMatchObject({ type: 'start', totalSteps: 12, stepsPerEpoch: 4, trainImages: 32, valImages: 32 })
    expect(steps.map((e) => e.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
    expect(steps.every((e) => e.imagesPerSecond > 0 && e.etaSeconds >= 0 && Number.isFinite(e.loss))).toBe(true)
    expect(steps.at(-1)).toMatchObject({ etaSeconds: 0, epoch: 3 })
    expect(events.filter((e) => e.type === 'epoch').map((e) => e.epoch)).toEqual([1, 2, 3])
    expect(events.at(-1)).toMatchObject({ type: 'done', steps: 12 })

    const dir = join(work, 'npr-tiny-gena')
    const card = await writeModelFolder(result, dir, { dataRoot: root, command: 'npx genimage train --model npr-tiny …', trainingData: 'synthetic' })
    // Retrained models get a new version and folder: the version is the content hash, `{version}` names the folder.
    const versioned = await writeModelFolder(result, join(work, 'versioned', 'gena-{version}'), {
      dataRoot: root,
      trainingData: 'synthetic',
      measureProfile: false,
    })
    result.detector.dispose()
    expect(card.version).toBe(card.sha256.slice(0, 12))
    expect(ModelCard.parse(JSON.parse(await readFile(join(work, 'versioned', `gena-${versioned.version}`, 'card.json'), 'utf8'))).sha256).toBe(card.sha256)
    expect(card.trainedOn).toBe('synthetic: train split of 1 generator (GenA); untested on images from other generators')
    const profile = card.trainingProfile
    expect(profile).toMatchObject({ width: [64, 64], height: [64, 64], count: 32 })
    expect(profile?.method).toMatch(/measured at export on all 32 images of synthetic, train split of GenA/)
    for (const [min, max] of [...(profile?.channelMean ?? []), ...(profile?.channelStd ?? []), profile?.score ?? [0, 1]]) {
      expect(min).toBeGreaterThanOrEqual(0)
      expect(max).toBeLessThanOrEqual(1)
      expect(min).toBeLessThanOrEqual(max)
    }
    expect(ModelCard.parse(JSON.parse(await readFile(join(dir, 'card.json'), 'utf8')))).toEqual(card)
    expect(card).toMatchObject({ architecture: 'npr-tiny', labels: ['nature', 'ai'], provenance: { kind: 'trained' } })
    expect(card.metrics[0]).toMatchObject({ accuracy: result.valAccuracy, count: 16, perGenerator: { GenA: result.evaluation.perGenerator.GenA } })

    const repository = await loadModelRepository(work, { providers: ['cpu'], maxPixels: 10_000_000 })
    expect(repository.problems).toEqual([])
    const { app, close } = createRunnerApp({ name: 'test', version: '0', repository, maxBodyBytes: 10_000_000 })
    onTestFinished(close)
    const images = await Promise.all(['GenA/val/ai/0000.png', 'GenA/val/nature/0000.jpg'].map((p) => readFile(join(root, p))))
    const tensor = encodeBytesTensor(images)
    const { body, headers } = encodeBinaryInferRequest(
      { inputs: [{ name: 'image_bytes', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: tensor.byteLength } }] },
      [tensor],
    )
    const response = await app.request(`/v2/models/${card.name}/infer`, { method: 'POST', body, headers })
    expect(response.status).toBe(200)
    const probabilities = InferResponse.parse(await response.json()).outputs[0]!.data as number[]
    expect(probabilities[1]).toBeGreaterThan(0.5)
    expect(probabilities[2]).toBeGreaterThan(0.5)
    for (const model of repository.models.values()) await model.session.release()
  })

  it('resumes a killed run from its checkpoint and ends with exactly the weights of an uninterrupted run', async () => {
    const straight = await trainDetector({ ...base(), epochs: 2 })
    const expected = await weightsOf(straight)
    straight.detector.dispose()

    const checkpointDir = join(work, 'resume-ckpt')
    const controller = new AbortController()
    const killed = trainDetector({
      ...base(),
      epochs: 2,
      checkpointDir,
      checkpointEvery: 3,
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === 'step' && event.step === 5) controller.abort()
      },
    })
    await expect(killed).rejects.toBeInstanceOf(TrainingCancelledError)

    const resumed = trainEvents({ ...base(), epochs: 2, checkpointDir, checkpointEvery: 3 })
    const events: TrainEvent[] = []
    for await (const event of resumed) events.push(event)
    const result = await resumed.result
    expect(events[0]).toMatchObject({ type: 'start', resumedFromStep: 5 })
    expect(events.find((e) => e.type === 'step')).toMatchObject({ step: 6 })
    expect(await weightsOf(result)).toEqual(expected)
    result.detector.dispose()
  })

  it('refuses to resume a checkpoint made with other settings', async () => {
    const checkpointDir = join(work, 'mismatch-ckpt')
    ;(await trainDetector({ ...base(), epochs: 1, checkpointDir })).detector.dispose()
    await expect(trainDetector({ ...base(), epochs: 1, seed: 7, checkpointDir })).rejects.toMatchObject({ code: 'checkpoint_mismatch' })
  })

  it('stops early when val accuracy stops improving, and leaves no tensors behind', async () => {
    const tensorsBefore = tf.memory().numTensors
    const result = await trainDetector({ ...base(), epochs: 6, earlyStopPatience: 1, optimizer: { learningRate: 0 }, checkpointDir: join(work, 'early-ckpt') })
    expect(result.stoppedEarly).toBe(true)
    expect(result.history).toHaveLength(2)
    result.detector.dispose()
    expect(tf.memory().numTensors).toBe(tensorsBefore)
    const again = await trainDetector({ ...base(), epochs: 6, earlyStopPatience: 1, optimizer: { learningRate: 0 }, checkpointDir: join(work, 'early-ckpt') })
    expect(again).toMatchObject({ stoppedEarly: true, resumedFromStep: result.steps, steps: result.steps })
    again.detector.dispose()
  })

  it('trains from a dataset manifest, skipping files the manifest recorded as unreadable', async () => {
    const manifestRoot = await makeSyntheticDataset({ size: 64, trainPerClass: 8, valPerClass: 4 })
    await writeFile(join(manifestRoot, 'SynthGen', 'train', 'ai', '0007.png'), new Uint8Array(0))
    const manifestUrl = `file:${join(work, 'manifest.db')}`
    await writeManifest(manifestUrl, manifestRoot)
    const events: TrainEvent[] = []
    const result = await trainDetector({
      ...base(),
      dataRoot: manifestRoot,
      trainOn: ['SynthGen'],
      epochs: 1,
      batchSize: 5,
      manifestUrl,
      onProgress: (e) => void events.push(e),
    })
    expect(events[0]).toMatchObject({ type: 'start', trainImages: 15, valImages: 8 })
    result.detector.dispose()
    await expect(trainDetector({ ...base(), dataRoot: root, manifestUrl })).rejects.toMatchObject({ code: 'empty_manifest' })
    await rm(manifestRoot, { recursive: true, force: true })
  })

  it('fails with stable codes on a missing root, an unknown generator and an undecodable image', async () => {
    await expect(trainDetector({ ...base(), dataRoot: join(work, 'nope') })).rejects.toMatchObject({ code: 'not_a_directory' })
    await expect(trainDetector({ ...base(), trainOn: ['Midjourney'] })).rejects.toMatchObject({
      code: 'unknown_generator',
      message: expect.stringContaining('GenA'),
    })
    const broken = await makeSyntheticDataset({ size: 64, trainPerClass: 8, valPerClass: 2 })
    await sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } })
      .png()
      .toFile(join(broken, 'SynthGen', 'train', 'ai', '0000.png'))
    await import('node:fs/promises').then((fs) => fs.writeFile(join(broken, 'SynthGen', 'train', 'ai', '0001.png'), 'not a png'))
    await expect(trainDetector({ ...base(), dataRoot: broken, trainOn: ['SynthGen'], epochs: 1 })).rejects.toMatchObject({ code: 'corrupt_image' })
    await rm(broken, { recursive: true, force: true })
  })
})

describe('training batches', () => {
  it('are reproducible per (seed, epoch, index); CNNSpot adds blur/JPEG degradation on top of the same crops', async () => {
    const images = await loadSplit({ root, split: 'train', generators: ['GenA'], task: 'binary', headGenerators: [] })
    const input = resolveZooModel('cnnspot-tiny').input
    const plain = new BatchSource(images, { input, augmentations: [], seed: 3, batchSize: 8 })
    const cnnspot = new BatchSource(images, { input, augmentations: ['blur-jpeg'], seed: 3, batchSize: 8 })
    const again = new BatchSource(images, { input, augmentations: ['blur-jpeg'], seed: 3, batchSize: 8 })
    const [a, b, c] = await Promise.all([plain.batch(1, 2), cnnspot.batch(1, 2), again.batch(1, 2)])
    expect(c.images).toEqual(b.images)
    expect(b.labels).toEqual(a.labels)
    expect(b.images).not.toEqual(a.images)
    const otherEpoch = await plain.batch(2, 2)
    expect(otherEpoch.images).not.toEqual(a.images)
  })

  it('JPEG-align re-encodes PNG images so both classes carry JPEG compression', async () => {
    const images = (await loadSplit({ root, split: 'train', generators: ['GenA'], task: 'binary', headGenerators: [] })).filter((i) => i.kind === 'ai')
    const input = resolveZooModel('npr-tiny').input
    const raw = await new BatchSource(images, { input, augmentations: [], seed: 1, batchSize: 8 }).batch(0, 0)
    const aligned = await new BatchSource(images, { input, augmentations: [], seed: 1, batchSize: 8, jpegAlignQuality: 96 }).batch(0, 0)
    expect(aligned.images).not.toEqual(raw.images)
    // same crops (the change is compression noise, small next to the image content), not different pictures
    const mean = raw.images.reduce((sum, v) => sum + v, 0) / raw.images.length
    let change = 0
    let content = 0
    for (let i = 0; i < raw.images.length; i++) {
      change += Math.abs(raw.images[i]! - aligned.images[i]!)
      content += Math.abs(raw.images[i]! - mean)
    }
    expect(change / content).toBeLessThan(0.35)
  })
})
