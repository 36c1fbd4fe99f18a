import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CodedError } from '@genimage/shared'
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

/** Why a checkpoint could not be used: unreadable (I/O, permissions, not a file) or corrupt (bad JSON, missing tensors). */
export type CheckpointErrorCode = 'checkpoint_unreadable' | 'checkpoint_corrupt'

/** A checkpoint that exists but cannot be resumed from; `path` names the file at fault. Never a silent restart. */
export class CheckpointError extends CodedError<CheckpointErrorCode> {
  constructor(
    code: CheckpointErrorCode,
    readonly path: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(code, `checkpoint ${path}: ${problem}; fix or delete it to start over`, options)
  }
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error))

function isCheckpointFile(value: unknown): value is CheckpointFile<unknown> {
  const file = value as Partial<CheckpointFile<unknown>> | null
  return (
    typeof file === 'object' &&
    file !== null &&
    file.format === 'genimage-checkpoint-1' &&
    Number.isInteger(file.step) &&
    typeof file.fingerprint === 'string' &&
    typeof file.tensorsFile === 'string' &&
    Array.isArray(file.tensors)
  )
}

/** The index in `dir`, or undefined when there is none (no file); any other failure throws a CheckpointError. */
async function readIndex<Extra>(dir: string): Promise<CheckpointFile<Extra> | undefined> {
  const path = join(dir, INDEX)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if (isMissing(error)) return undefined
    throw new CheckpointError('checkpoint_unreadable', path, `cannot be read (${reason(error)})`, { cause: error })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new CheckpointError('checkpoint_corrupt', path, `is not valid JSON (${reason(error)})`, { cause: error })
  }
  if (!isCheckpointFile(parsed)) throw new CheckpointError('checkpoint_corrupt', path, 'is not a genimage checkpoint (format genimage-checkpoint-1)')
  return parsed as CheckpointFile<Extra>
}

async function readTensors(dir: string, index: CheckpointFile<unknown>): Promise<Float32Array> {
  const path = join(dir, index.tensorsFile)
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (error) {
    const code = isMissing(error) ? 'checkpoint_corrupt' : 'checkpoint_unreadable'
    throw new CheckpointError(code, path, `tensors named by ${join(dir, INDEX)} cannot be read (${reason(error)})`, { cause: error })
  }
  const floats = bytes.byteLength / Float32Array.BYTES_PER_ELEMENT
  const fits = Number.isInteger(floats) && index.tensors.every((entry) => entry.offset >= 0 && entry.offset + entry.length <= floats)
  if (!fits) throw new CheckpointError('checkpoint_corrupt', path, `holds ${bytes.byteLength} bytes, fewer than ${join(dir, INDEX)} lists`)
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
}

export interface LoadedCheckpoint<Extra> extends CheckpointState<Extra> {
  groups: Record<string, TensorValues>
}

/**
 * Reads the checkpoint in `dir`, or undefined when there is none (no `checkpoint.json`).
 * @throws CheckpointError when a checkpoint is there but cannot be read or is corrupt: resuming from step 0
 * instead would silently throw away the training done so far.
 */
export async function loadCheckpoint<Extra>(dir: string): Promise<LoadedCheckpoint<Extra> | undefined> {
  const index = await readIndex<Extra>(dir)
  if (!index) return undefined
  const all = await readTensors(dir, index)
  const groups: Record<string, TensorValues> = {}
  for (const entry of index.tensors) {
    const group = groups[entry.group] ?? new Map()
    groups[entry.group] = group
    group.set(entry.name, { shape: entry.shape, data: all.subarray(entry.offset, entry.offset + entry.length) })
  }
  return { step: index.step, fingerprint: index.fingerprint, extra: index.extra, groups }
}
