import { type FSWatcher, watch } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { type LoadedModel, type LoadOptions, loadModel, type ModelRepository, servingLine } from './model-repository.ts'

export interface WatchOptions extends LoadOptions {
  /** How often the model directory is rescanned (default 2000 ms); a change notice from the file system rescans sooner. */
  intervalMs?: number
  /** A served model left the repository (folder removed or changed): stop it once its in-flight requests finish. */
  onRemoved?: (model: LoadedModel) => void | Promise<void>
  /** A model folder started being served. */
  onAdded?: (model: LoadedModel) => void
}

/** Keeps a repository in step with its directory. `rescan()` runs one pass now; `close()` stops watching. */
export interface ModelWatcher {
  rescan(): Promise<void>
  close(): Promise<void>
}

/**
 * Serves model folders copied into `dir` after start, and stops serving removed or changed ones, without a restart.
 * A folder is served only once it is complete: `card.json` parses and the model file's sha256 equals the card's,
 * so a half-written `model.onnx` (or card) is not loaded; it is tried again when its files change. A folder whose
 * files change is reloaded (its old model is retired through `onRemoved`).
 *
 * @example const watcher = watchModelRepository(repository, modelDir, { providers: ['cpu'], maxPixels, onRemoved: (m) => app.retireModel(m) })
 */
export function watchModelRepository(repository: ModelRepository, dir: string, options: WatchOptions): ModelWatcher {
  /** Signature of each folder's files when it was last loaded or last refused. */
  const seen = new Map<string, string>()
  const loadedFrom = new Map<string, LoadedModel>()
  let running: Promise<void> | undefined
  let again = false
  let closed = false

  const ready = (async () => {
    for (const model of repository.models.values()) {
      loadedFrom.set(model.dir, model)
      seen.set(model.dir, await folderSignature(model.dir))
    }
    for (const problem of repository.problems) seen.set(problem.dir, await folderSignature(problem.dir))
  })()

  const scanOnce = async () => {
    await ready
    const folders = new Set(await listFolders(dir))
    for (const [folder, model] of loadedFrom) {
      const signature = folders.has(folder) ? await folderSignature(folder) : undefined
      if (signature === seen.get(folder)) continue
      loadedFrom.delete(folder)
      if (repository.models.get(model.card.name) === model) repository.models.delete(model.card.name)
      options.log?.(`stopped serving ${model.card.name}@${model.card.version}: ${folder} was ${signature === undefined ? 'removed' : 'changed'}`)
      await options.onRemoved?.(model)
      seen.delete(folder)
    }
    for (const [index, problem] of [...repository.problems.entries()].reverse()) {
      if (!folders.has(problem.dir)) {
        repository.problems.splice(index, 1)
        seen.delete(problem.dir)
      }
    }
    for (const folder of [...folders].sort()) {
      if (closed) return
      if (loadedFrom.has(folder)) continue
      const signature = await folderSignature(folder)
      if (signature === seen.get(folder)) continue
      seen.set(folder, signature)
      await tryLoad(folder)
    }
  }

  const tryLoad = async (folder: string) => {
    const problemAt = repository.problems.findIndex((p) => p.dir === folder)
    try {
      const model = await loadModel(folder, options)
      if (!model) return
      if (repository.models.has(model.card.name)) {
        await model.session.release()
        throw new Error(`duplicate model name ${model.card.name}`)
      }
      if (problemAt >= 0) repository.problems.splice(problemAt, 1)
      repository.models.set(model.card.name, model)
      loadedFrom.set(folder, model)
      options.log?.(servingLine(model))
      options.onAdded?.(model)
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      if (problemAt >= 0) repository.problems[problemAt] = { dir: folder, reason }
      else repository.problems.push({ dir: folder, reason })
      options.log?.(`not serving ${folder} (yet): ${reason}`)
    }
  }

  const rescan = async (): Promise<void> => {
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      do {
        again = false
        await scanOnce()
      } while (again && !closed)
    })().finally(() => {
      running = undefined
    })
    return running
  }

  const report = (error: unknown) => options.log?.(`model directory rescan failed: ${error instanceof Error ? error.message : String(error)}`)
  const timer = setInterval(() => rescan().catch(report), options.intervalMs ?? 2_000)
  timer.unref()
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(dir, { persistent: false }, () => void rescan().catch(report))
    watcher.on('error', () => watcher?.close())
  } catch {
    // No directory yet, or no file-system notices here: the interval still rescans.
  }

  return {
    rescan,
    async close() {
      closed = true
      clearInterval(timer)
      watcher?.close()
      await running
    },
  }
}

async function listFolders(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => join(dir, e.name))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

/** Size and modification time of the folder's card and the model file it names: what changes while files are written. */
async function folderSignature(folder: string): Promise<string> {
  const describe = async (path: string) => {
    try {
      const s = await stat(path)
      return `${s.size}:${s.mtimeMs}`
    } catch {
      return 'absent'
    }
  }
  const card = await describe(join(folder, 'card.json'))
  let file = 'model.onnx'
  try {
    const named = JSON.parse(await readFile(join(folder, 'card.json'), 'utf8')) as { file?: unknown }
    if (typeof named.file === 'string') file = named.file
  } catch {
    // Unreadable or half-written card: its size and time are the signature until it parses.
  }
  return `${card}|${file}:${await describe(join(folder, file))}`
}
