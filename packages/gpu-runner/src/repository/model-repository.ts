import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ModelCard } from '@genimage/shared'
import type * as ort from 'onnxruntime-node'
import { createSession, type ExecutionProvider, type ProviderFailure } from '../inference/execution-providers.ts'
import { createTileTransform, createTransform, type ImageTransform, type TileTransform } from '@genimage/imaging'
import { withInputStatistics } from './input-statistics.ts'

/** A detector ready to serve: its card, an open session and the transform its input config derives. */
export interface LoadedModel {
  card: ModelCard
  dir: string
  session: ort.InferenceSession
  provider: ExecutionProvider
  /** Why each provider tried before `provider` was not used. */
  skipped: ProviderFailure[]
  /** The WebGPU adapter's description, when `provider` is `webgpu`. */
  adapter?: string
  transform: ImageTransform
  /** When the card's input has `evidence`: one tensor per native-resolution tile (server/evidence.ts aggregates them). */
  tiles?: TileTransform
}

export interface ModelRepository {
  models: Map<string, LoadedModel>
  /** Folders that looked like models but could not be loaded, with the reason. */
  problems: { dir: string; reason: string }[]
}

export interface LoadOptions {
  providers: readonly string[]
  maxPixels: number
  intraOpThreads?: number
  /** onnxruntime thread-pool spinning (see SessionTuning.allowSpinning). */
  allowSpinning?: boolean
  /** `webgpu` was asked for by name: a software adapter is used too (see SessionOptions.forceWebGpu). */
  forceWebGpu?: boolean
  log?: (message: string) => void
}

/**
 * Loads every `<dir>/<model>/card.json` + ONNX file. A missing directory is an empty repository;
 * a folder whose card is invalid or whose file does not match the card's sha256 is reported, not served.
 */
export async function loadModelRepository(dir: string, options: LoadOptions): Promise<ModelRepository> {
  const repository: ModelRepository = { models: new Map(), problems: [] }
  let entries: string[]
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return repository
    throw error
  }
  for (const entry of entries.sort()) {
    const folder = join(dir, entry)
    try {
      const model = await loadModel(folder, options)
      if (!model) continue
      if (repository.models.has(model.card.name)) {
        throw new Error(`duplicate model name ${model.card.name}`)
      }
      repository.models.set(model.card.name, model)
      options.log?.(servingLine(model))
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      repository.problems.push({ dir: folder, reason })
      options.log?.(`skipped ${folder}: ${reason}`)
    }
  }
  return repository
}

/** Loads one model folder; undefined when the folder holds no card.json (not a model folder). */
export async function loadModel(folder: string, options: LoadOptions): Promise<LoadedModel | undefined> {
  let raw: string
  try {
    raw = await readFile(join(folder, 'card.json'), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const parsed = ModelCard.safeParse(JSON.parse(raw))
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`card.json is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`)
  }
  const card = parsed.data
  const bytes = await readFile(join(folder, card.file))
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  if (sha256 !== card.sha256) throw new Error(`${card.file} has sha256 ${sha256}, the card says ${card.sha256}`)
  const { session, provider, skipped, adapter } = await createSession(bytes, options.providers, {
    intraOpThreads: options.intraOpThreads,
    allowSpinning: options.allowSpinning,
    forceWebGpu: options.forceWebGpu,
  })
  if (!session.inputNames.includes(card.input.name)) {
    throw new Error(`graph has no input named ${card.input.name} (inputs: ${session.inputNames.join(', ')})`)
  }
  if (!session.outputNames.includes(card.output.name)) {
    throw new Error(`graph has no output named ${card.output.name} (outputs: ${session.outputNames.join(', ')})`)
  }
  return {
    card,
    dir: folder,
    session,
    provider,
    skipped,
    ...(adapter ? { adapter } : {}),
    transform: withInputStatistics(createTransform(card.input, { maxPixels: options.maxPixels }), card.input),
    ...(card.input.evidence ? { tiles: createTileTransform(card.input, { maxPixels: options.maxPixels }) } : {}),
  }
}

/**
 * The one start-up line per model: which provider serves it and why, e.g. `loaded npr-tiny@1 from models/npr-tiny:
 * serving on cpu (cuda: CUDA libraries not installed …; webgpu: software adapter llvmpipe … is slower than the CPU)`.
 */
export function servingLine(model: LoadedModel): string {
  const on = model.adapter ? `${model.provider} (${model.adapter})` : model.provider
  const why = model.skipped.length === 0 ? 'the first provider in the list' : model.skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ')
  return `loaded ${model.card.name}@${model.card.version} from ${model.dir}: serving on ${on} (${why})`
}

const releasedMainSessions = new WeakSet<LoadedModel>()

/**
 * Frees the model's main-thread session (one copy of its weights and buffers) once it is served from an inference
 * worker's own session, which is then the only one used. Idempotent; `runModel` refuses a released model.
 */
export async function releaseMainSession(model: LoadedModel): Promise<void> {
  if (releasedMainSessions.has(model)) return
  releasedMainSessions.add(model)
  await model.session.release()
}

/** True after {@link releaseMainSession}. */
export function isMainSessionReleased(model: LoadedModel): boolean {
  return releasedMainSessions.has(model)
}
