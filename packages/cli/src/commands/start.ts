import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startEdge } from '@genimage/edge-api/node'
import { runnerConfigFromEnv, startRunner } from '@genimage/gpu-runner'
import { isInsideDataRoots } from '@genimage/shared'
import type { Command } from 'commander'
import { keysAtStart, startBanner } from '../start-banner.ts'
import { ensureTinyDataset, TINY_DATASET_NAME, type TinyDataset } from './tiny-dataset.ts'

/** A real photograph shipped with the project, for the printed curl example. */
const SAMPLE_PHOTO = 'packages/dataset-tools/photos'

/** `genimage start`, `genimage runner`, `genimage edge`: the local stack, or one part of it. */
export function registerStartCommands(program: Command): void {
  program
    .command('start')
    .description('start the local stack: one runner (detect + train), the edge API and a libSQL file database (Ctrl-C stops it)')
    .action(async () => {
      // The embedded runner answers only this stack's edge: a token made for this run, unless RUNNER_TOKEN is given.
      const env: NodeJS.ProcessEnv = { ...process.env, RUNNER_TOKEN: process.env.RUNNER_TOKEN || randomBytes(32).toString('base64url') }
      const database = env.DATABASE_URL ?? 'file:./data/genimage.db'
      // Imported here, not at the top: the training stack (tfjs) is ~45 MB of heap that `runner` and `edge` do not need.
      const trainWorker =
        env.TRAIN_WORKER === 'false'
          ? undefined
          : await (await import('@genimage/gpu-runner/jobs')).startTrainWorker({ databaseUrl: database, artifactRoot: env.ARTIFACT_DIR ?? 'artifacts' })
      const runner = await startRunner(runnerConfigFromEnv(env), {
        claimedWork: { giveBack: async () => trainWorker?.stop() },
      })
      const dataDir = stackDataDir(env, database)
      // The console lists the datasets of the stack's data folder; the tiny one is built there if missing (no train worker: no need).
      const edge = await startEdge({ ...env, RUNNER_URLS: env.RUNNER_URLS ?? runner.url, DATASET_DIRS: env.DATASET_DIRS ?? dataDir })
      const models = [...runner.repository.models.keys()]
      const keys = keysAtStart(env.REQUIRE_API_KEY, await anyKeyEverCreated(database, env.DATABASE_AUTH_TOKEN))
      const banner = startBanner({ edgeUrl: edge.url, runnerUrl: runner.url, database, models, keys, samplePhoto: samplePhoto() })
      console.log(banner.join('\n'))
      const tiny = trainWorker && env.GENIMAGE_TINY_DATASET !== 'false' ? startTinyDataset(dataDir, env.DATA_ROOTS) : undefined
      await untilSignal()
      console.log('stopping…')
      await tiny?.stop()
      await edge.close()
      await runner.close()
    })

  program
    .command('runner')
    .description('start one runner (OIP v2) serving the models in MODEL_DIR on RUNNER_PORT')
    .action(async () => {
      const runner = await startRunner(runnerConfigFromEnv())
      await untilSignal()
      await runner.close()
    })

  program
    .command('edge')
    .description('start the edge API on PORT, routing to RUNNER_URLS, recording in DATABASE_URL')
    .action(async () => {
      const edge = await startEdge()
      console.error(JSON.stringify({ level: 'info', component: 'edge', msg: `edge listening on ${edge.url}` }))
      await untilSignal()
      await edge.close()
    })
}

/**
 * The stack's data folder, an absolute path: GENIMAGE_DATA_DIR, else the folder of a `file:` database (`./data` by
 * default), else `./data`. The console's experiments form offers the datasets in it.
 */
export function stackDataDir(env: NodeJS.ProcessEnv, databaseUrl: string): string {
  if (env.GENIMAGE_DATA_DIR) return resolve(env.GENIMAGE_DATA_DIR)
  if (databaseUrl.startsWith('file:') && !databaseUrl.includes(':memory:')) {
    const path = databaseUrl.slice('file:'.length).split('?')[0]!
    return dirname(path.startsWith('//') ? fileURLToPath(databaseUrl.split('?')[0]!) : resolve(path))
  }
  return resolve('data')
}

/** Builds the tiny GenImage-mini in the background (or finds it), saying so on stdout; not where DATA_ROOTS leaves it out. */
function startTinyDataset(dataDir: string, dataRoots: string | undefined): TinyDataset | undefined {
  const roots = dataRoots
    ?.split(',')
    .map((root) => root.trim())
    .filter(Boolean)
  if (roots?.length && !isInsideDataRoots(join(dataDir, TINY_DATASET_NAME), roots)) {
    console.log(`Tiny dataset: not built, ${dataDir} is outside DATA_ROOTS (${roots.join(', ')}); set GENIMAGE_DATA_DIR inside it to have one`)
    return undefined
  }
  const tiny = ensureTinyDataset(dataDir, (line) => console.log(line))
  if (tiny.reused) console.log(`Tiny dataset: ${tiny.root} (GenImage-mini, built earlier; the experiments form offers it)`)
  else console.log('The experiments form offers it once it is built (about 15 s); this stack answers meanwhile.')
  return tiny
}

function samplePhoto(): string {
  const dir = resolve(SAMPLE_PHOTO)
  return existsSync(dir) ? `${SAMPLE_PHOTO}/<a photo>.jpg` : 'photo.jpg'
}

/** Whether the stack's database holds any key, revoked ones included (what `REQUIRE_API_KEY=auto` goes by). */
async function anyKeyEverCreated(databaseUrl: string, authToken: string | undefined): Promise<boolean> {
  const { anyApiKeyEverCreated, createDb } = await import('@genimage/shared/db')
  const db = await createDb(databaseUrl, { authToken, migrate: false })
  try {
    return await anyApiKeyEverCreated(db)
  } finally {
    db.$client.close()
  }
}

function untilSignal(): Promise<void> {
  return new Promise((done) => {
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      done()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}
