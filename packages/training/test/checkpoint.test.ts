import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.ts'

let dir: string

beforeAll(async () => {
  await tf.setBackend('cpu')
})
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function savedCheckpoint(step = 7): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'genimage-checkpoint-'))
  const weight = tf.tensor([1, 2, 3, 4], [2, 2])
  await saveCheckpoint(dir, { step, fingerprint: 'run-a', extra: { bestEpoch: 1 } }, { params: new Map([['w', weight]]) })
  weight.dispose()
  return dir
}

async function loadError(from: string): Promise<CheckpointError> {
  const error = await loadCheckpoint(from).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(CheckpointError)
  return error as CheckpointError
}

describe('loadCheckpoint', () => {
  it('resumes what was saved: step, fingerprint, state and tensors', async () => {
    const loaded = await loadCheckpoint<{ bestEpoch: number }>(await savedCheckpoint(7))
    expect(loaded).toMatchObject({ step: 7, fingerprint: 'run-a', extra: { bestEpoch: 1 } })
    expect(loaded?.groups.params?.get('w')).toEqual({ shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) })
  })

  it('starts fresh when there is no checkpoint: no folder, or a folder without checkpoint.json', async () => {
    dir = await mkdtemp(join(tmpdir(), 'genimage-checkpoint-'))
    expect(await loadCheckpoint(join(dir, 'never-written'))).toBeUndefined()
    expect(await loadCheckpoint(dir)).toBeUndefined()
  })

  it('refuses a corrupt checkpoint.json with an error naming the file, instead of restarting from step 0', async () => {
    const index = join(await savedCheckpoint(), 'checkpoint.json')
    const text = await readFile(index, 'utf8')
    await writeFile(index, text.slice(0, text.length / 2))
    const error = await loadError(dir)
    expect(error.code).toBe('checkpoint_corrupt')
    expect(error.path).toBe(index)
    expect(error.message).toContain(index)
  })

  it('refuses JSON that is not a genimage checkpoint', async () => {
    const index = join(await savedCheckpoint(), 'checkpoint.json')
    await writeFile(index, JSON.stringify({ format: 'something-else', step: 3 }))
    expect(await loadError(dir)).toMatchObject({ code: 'checkpoint_corrupt', path: index })
  })

  it('refuses a checkpoint.json that cannot be read (here a directory stands in its place)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'genimage-checkpoint-'))
    const index = join(dir, 'checkpoint.json')
    await mkdir(index)
    const error = await loadError(dir)
    expect(error).toMatchObject({ code: 'checkpoint_unreadable', path: index })
    expect(error.message).toContain(index)
  })

  it('refuses a checkpoint whose tensor file is missing or shorter than its index says', async () => {
    const from = await savedCheckpoint(5)
    const tensors = join(from, 'tensors-5.bin')
    await writeFile(tensors, new Uint8Array(8))
    expect(await loadError(from)).toMatchObject({ code: 'checkpoint_corrupt', path: tensors })
    await rm(tensors)
    expect(await loadError(from)).toMatchObject({ code: 'checkpoint_corrupt', path: tensors })
  })
})
