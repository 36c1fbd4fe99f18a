import { createHash } from 'node:crypto'
import { mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { DatasetError } from './errors.ts'
import { defaultImageConcurrency, forEachConcurrent } from './pool.ts'
import { silentProgress, type Progress } from './progress.ts'
import { readState, writeFileAtomic, writeJsonAtomic } from './state.ts'
import { assertDirectory, countImages, walkImages, type LayoutImage, type WalkOptions } from './walk.ts'

/** What to do with one image: its output file name and the transform, or a reason to leave it out. */
export type ImagePlan = { outName: string; transform: (bytes: Buffer) => Promise<Buffer> } | { skip: string }

export interface TransformTreeOptions extends WalkOptions {
  /** Sidecar file name written next to the output (e.g. `degrade.json`). */
  sidecarName: string
  /** Every parameter of the run; an existing output made with different parameters is refused. */
  parameters: Record<string, unknown>
  plan: (image: LayoutImage) => ImagePlan
  concurrency?: number
  progress?: Progress
  progressLabel: string
  signal?: AbortSignal
  /** Extra fields for the sidecar's final write (e.g. which encoder wrote how many images in this run). */
  summary?: () => Record<string, unknown>
}

export interface TransformTreeReport {
  root: string
  out: string
  sidecar: string
  written: number
  alreadyDone: number
  skipped: { path: string; reason: string }[]
  failed: { path: string; reason: string }[]
  interrupted: boolean
}

/** Thrown by a transform to leave an image out on purpose; it is listed under `skipped`, not `failed`. */
export class SkipImage extends Error {}

/** The sidecar: parameters, then the counts of the last run. */
interface Sidecar {
  tool: string
  parameters: Record<string, unknown>
  status: 'in_progress' | 'complete' | 'interrupted'
  written?: number
  skipped?: { path: string; reason: string }[]
  failed?: { path: string; reason: string }[]
}

/** A number in [0, 1) fixed by the seed and the image path, so sampling does not depend on walk order. */
export function seededFraction(seed: number, relPath: string): number {
  return createHash('sha256').update(`${seed}:${relPath}`).digest().readUInt32BE(0) / 2 ** 32
}

/**
 * Writes a transformed copy of a GenImage-layout root to `out` (same layout), image by image with bounded
 * parallelism, and records every parameter in a sidecar next to the output. Finished files are kept across
 * interruptions and never written twice.
 */
export async function transformTree(root: string, out: string, options: TransformTreeOptions): Promise<TransformTreeReport> {
  await assertDirectory(root, 'dataset root')
  await mkdir(out, { recursive: true })
  const sidecarPath = join(out, options.sidecarName)
  const previous = await readState<Sidecar | undefined>(sidecarPath, undefined)
  if (previous && JSON.stringify(previous.parameters) !== JSON.stringify(options.parameters)) {
    throw new DatasetError('bad_option', `${out} was made with other parameters (see ${sidecarPath}); choose another output folder`)
  }
  const sidecar: Sidecar = { tool: options.sidecarName.replace(/\.json$/, ''), parameters: options.parameters, status: 'in_progress' }
  await writeJsonAtomic(sidecarPath, sidecar)
  const progress = options.progress ?? silentProgress
  const report: TransformTreeReport = { root, out, sidecar: sidecarPath, written: 0, alreadyDone: 0, skipped: [], failed: [], interrupted: false }
  const madeFolders = new Set<string>()
  if (progress.active) progress.start(await countImages(root, options), options.progressLabel)
  try {
    await forEachConcurrent(
      walkImages(root, options),
      options.concurrency ?? defaultImageConcurrency(),
      async (image) => {
        progress.increment()
        const plan = options.plan(image)
        if ('skip' in plan) {
          report.skipped.push({ path: image.relPath, reason: plan.skip })
          return
        }
        const folder = join(out, image.generator, image.split, image.label)
        const target = join(folder, plan.outName)
        if (
          await stat(target).then(
            () => true,
            () => false,
          )
        ) {
          report.alreadyDone++
          return
        }
        let output: Buffer
        try {
          output = await plan.transform(await readFile(image.absPath))
        } catch (error) {
          if (error instanceof SkipImage) {
            report.skipped.push({ path: image.relPath, reason: error.message })
            return
          }
          report.failed.push({ path: image.relPath, reason: error instanceof Error ? error.message.split('\n')[0]! : String(error) })
          return
        }
        if (!madeFolders.has(folder)) {
          await mkdir(folder, { recursive: true })
          madeFolders.add(folder)
        }
        await writeFileAtomic(target, output)
        report.written++
      },
      options.signal,
    )
  } finally {
    progress.stop()
  }
  report.interrupted = Boolean(options.signal?.aborted)
  report.skipped.sort((a, b) => a.path.localeCompare(b.path))
  report.failed.sort((a, b) => a.path.localeCompare(b.path))
  await writeJsonAtomic(sidecarPath, {
    ...sidecar,
    status: report.interrupted ? 'interrupted' : 'complete',
    written: report.written + report.alreadyDone,
    skipped: report.skipped,
    failed: report.failed,
    ...options.summary?.(),
  })
  return report
}

/** Replaces a file name's extension. */
export function withExtension(name: string, extension: string): string {
  const dot = name.lastIndexOf('.')
  return `${dot > 0 ? name.slice(0, dot) : name}${extension}`
}
