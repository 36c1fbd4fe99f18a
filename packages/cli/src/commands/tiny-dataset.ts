import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { DATASET_BUILD_MARKER, type DatasetBuildMarker } from '@genimage/shared'

/** The folder under the stack's data folder that holds the tiny GenImage-mini the console offers first. */
export const TINY_DATASET_NAME = 'genimage-mini-tiny'

/**
 * What the tiny GenImage-mini holds: one generator of three families whose shipped weights need no training (a GAN,
 * latent diffusion with 20 DDIM steps, an ESRGAN up-sampler), 32 train and 16 val images per class each, 128×128.
 * About 13 s to build on 2 cores; a Table 4 of npr-tiny on it (3 models × 3 test sets) runs in about a minute.
 */
export const TINY_DATASET_OPTIONS = {
  generators: ['GAN-tconv', 'LDM-ddim-20', 'RDN-slim'],
  perClassTrain: 32,
  perClassVal: 16,
  seed: 1,
} as const

/** How long a stopped build may take to finish the images in flight before it is killed. */
const STOP_GRACE_MS = 10_000

/** The record `genimage dataset mini` writes last: the build is complete once it exists. */
const MINI_MANIFEST = 'mini.json'

/** How a build ended: `images` complete in the folder (unknown when an earlier build was reused), `seconds` of wall time. */
export type TinyDatasetOutcome = { ok: true; images?: number; seconds: number } | { ok: false; reason: string; seconds: number }

/** The tiny dataset of one stack: where it is, whether an earlier build was reused, and when a build in progress ends. */
export interface TinyDataset {
  root: string
  reused: boolean
  done: Promise<TinyDatasetOutcome>
  /** Stops a build in progress after the images in flight (a later start continues it) and waits for it to end. */
  stop(): Promise<void>
}

/** One progress message from the build process. */
type BuildMessage = { progress: { phase: string; generator?: string; done: number; total: number } } | { finished: { images: number; interrupted: boolean } }

const PHASES: Record<string, string> = {
  photos: 'decoding photos',
  autoencoder: 'preparing the autoencoder',
  training: 'training',
  images: 'writing images',
}

/** Writes the build marker the edge's dataset listing reads (`state: building`), atomically. */
export async function writeBuildMarker(root: string, marker: Omit<DatasetBuildMarker, 'updatedAt'>): Promise<void> {
  await mkdir(root, { recursive: true })
  const file = join(root, DATASET_BUILD_MARKER)
  const temporary = `${file}.${process.pid}.tmp`
  await writeFile(temporary, JSON.stringify({ ...marker, updatedAt: new Date().toISOString() }))
  await rename(temporary, file)
}

/**
 * Makes sure `<dataDir>/genimage-mini-tiny` exists: reused when a finished build is there, else built in a child
 * process (so the stack's event loop and tfjs backend stay its own) with `buildMini` from `@genimage/dataset-tools`.
 * While it builds, the folder holds a marker that `GET /v1/datasets` reports as `building`; an interrupted build keeps
 * it and the next start continues where this one stopped. `log` gets a few plain lines (phase starts, halfway,
 * done), fit for a terminal and for a log file alike.
 */
export function ensureTinyDataset(dataDir: string, log: (line: string) => void): TinyDataset {
  const root = resolve(dataDir, TINY_DATASET_NAME)
  const started = performance.now()
  const seconds = () => Math.round((performance.now() - started) / 100) / 10
  if (existsSync(join(root, MINI_MANIFEST)) && !existsSync(join(root, DATASET_BUILD_MARKER))) {
    return { root, reused: true, done: Promise.resolve({ ok: true, seconds: 0 }), stop: async () => {} }
  }
  // Written before this returns, so the stack's dataset listing says `building` from its first answer on.
  mkdirSync(root, { recursive: true })
  writeFileSync(join(root, DATASET_BUILD_MARKER), JSON.stringify({ phase: 'starting', done: 0, total: 0, updatedAt: new Date().toISOString() }))
  let child: ChildProcess | undefined
  const done = (async (): Promise<TinyDatasetOutcome> => {
    log(`Tiny dataset: building ${root} for the console's experiments form (GenImage-mini, ${TINY_DATASET_OPTIONS.generators.join(', ')})…`)
    const bootstrap = new URL('./tiny-dataset-build.mjs', import.meta.url)
    const running = spawn(process.execPath, [bootstrap.pathname, root], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    child = running
    let stderr = ''
    let finished: { images: number; interrupted: boolean } | undefined
    let shown = ''
    running.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000)
    })
    running.on('message', (message: BuildMessage) => {
      if ('finished' in message) {
        finished = message.finished
        return
      }
      const { phase, generator, done, total } = message.progress
      // Images of all generators are written in one phase, interleaved: its steps are counted over the whole set.
      const label = `${PHASES[phase] ?? phase}${generator && phase === 'training' ? ` (${generator})` : ''}`
      const half = total > 0 && done >= total / 2 && done < total ? 'half' : done >= total ? 'all' : 'start'
      if (`${label}:${half}` === shown || (half === 'start' && shown.startsWith(`${label}:`))) return
      shown = `${label}:${half}`
      log(`Tiny dataset: ${label} ${done}/${total}`)
    })
    const code = await new Promise<number | null>((settle) => running.once('close', settle))
    child = undefined
    if (finished && !finished.interrupted && code === 0) {
      await rm(join(root, DATASET_BUILD_MARKER), { force: true })
      log(`Tiny dataset ready: ${root} (${finished.images} images in ${seconds()} s)`)
      return { ok: true, images: finished.images, seconds: seconds() }
    }
    const reason = finished?.interrupted ? 'stopped; the next `genimage start` continues it' : `build failed (exit ${code}): ${lastLine(stderr)}`
    await writeBuildMarker(root, { phase: reason, done: 0, total: 0 }).catch(() => {})
    log(`Tiny dataset ${reason}`)
    return { ok: false, reason, seconds: seconds() }
  })()
  return {
    root,
    reused: false,
    done,
    stop: async () => {
      const running = child
      running?.kill('SIGTERM')
      // It stops after the images in flight (about a second); one that does not within STOP_GRACE_MS is killed.
      const timer = setTimeout(() => running?.kill('SIGKILL'), STOP_GRACE_MS)
      await done
      clearTimeout(timer)
    },
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n')
  return lines.at(-1)?.slice(0, 300) || 'no message'
}
