import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type * as tf from '@tensorflow/tfjs'

export type TensorValues = Map<string, { shape: number[]; data: Float32Array }>

interface TensorIndexEntry {
  group: string
  name: string
  shape: number[]
  offset: number
  length: number
}

/** What a checkpoint holds besides tensors: where training stands, as JSON. */
export interface CheckpointState<Extra> {
  /** Optimizer steps completed. */
  step: number
  /** Must match the resuming run's fingerprint (model, data, hyper-parameters); otherwise it is not resumed. */
  fingerprint: string
  extra: Extra
}

interface CheckpointFile<Extra> extends CheckpointState<Extra> {
  format: 'genimage-checkpoint-1'
  tensorsFile: string
  tensors: TensorIndexEntry[]
}

const INDEX = 'checkpoint.json'

/**
 * Writes tensors and state into `dir`. The tensor file is written first under a step-specific name and the
 * index is replaced by an atomic rename, so a run killed at any moment leaves the previous or the new
 * checkpoint intact, never a mix.
 */
export async function saveCheckpoint<Extra>(dir: string, state: CheckpointState<Extra>, groups: Record<string, Map<string, tf.Tensor>>): Promise<string> {
  await mkdir(dir, { recursive: true })
  const index: TensorIndexEntry[] = []
  const chunks: Float32Array[] = []
  let offset = 0
  for (const [group, tensors] of Object.entries(groups)) {
    for (const [name, tensor] of tensors) {
      const data = (await tensor.data()) as Float32Array
      index.push({ group, name, shape: [...tensor.shape], offset, length: data.length })
      chunks.push(data)
      offset += data.length
    }
  }
  const all = new Float32Array(offset)
  let at = 0
  for (const chunk of chunks) {
    all.set(chunk, at)
    at += chunk.length
  }
  const tensorsFile = `tensors-${state.step}.bin`
  await writeFile(join(dir, `${tensorsFile}.tmp`), new Uint8Array(all.buffer))
  await rename(join(dir, `${tensorsFile}.tmp`), join(dir, tensorsFile))
  const previous = await readIndex<Extra>(dir)
  const file: CheckpointFile<Extra> = { format: 'genimage-checkpoint-1', ...state, tensorsFile, tensors: index }
  await writeFile(join(dir, `${INDEX}.tmp`), JSON.stringify(file))
  await rename(join(dir, `${INDEX}.tmp`), join(dir, INDEX))
  if (previous && previous.tensorsFile !== tensorsFile) await rm(join(dir, previous.tensorsFile), { force: true })
  return join(dir, INDEX)
}

async function readIndex<Extra>(dir: string): Promise<CheckpointFile<Extra> | undefined> {
  const text = await readFile(join(dir, INDEX), 'utf8').catch(() => undefined)
  if (text === undefined) return undefined
  const parsed = JSON.parse(text) as CheckpointFile<Extra>
  if (parsed.format !== 'genimage-checkpoint-1') throw new Error(`${join(dir, INDEX)} is not a genimage checkpoint`)
  return parsed
}

export interface LoadedCheckpoint<Extra> extends CheckpointState<Extra> {
  groups: Record<string, TensorValues>
}

/** Reads the checkpoint in `dir`, or undefined when there is none. */
export async function loadCheckpoint<Extra>(dir: string): Promise<LoadedCheckpoint<Extra> | undefined> {
  const index = await readIndex<Extra>(dir)
  if (!index) return undefined
  const bytes = await readFile(join(dir, index.tensorsFile))
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
  const groups: Record<string, TensorValues> = {}
  for (const entry of index.tensors) {
    const group = (groups[entry.group] ??= new Map())
    group.set(entry.name, { shape: entry.shape, data: all.subarray(entry.offset, entry.offset + entry.length) })
  }
  return { step: index.step, fingerprint: index.fingerprint, extra: index.extra, groups }
}
