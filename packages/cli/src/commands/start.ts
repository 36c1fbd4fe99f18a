import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { startEdge } from '@genimage/edge-api/node'
import { MAKE_MODEL_COMMANDS } from '@genimage/shared'
import { runnerConfigFromEnv, startRunner } from '@genimage/gpu-runner'
import type { Command } from 'commander'

/** A real photograph shipped with the project, for the printed curl example. */
const SAMPLE_PHOTO = 'packages/dataset-tools/photos'

/** `genimage start`, `genimage runner`, `genimage edge`: the local stack, or one part of it. */
export function registerStartCommands(program: Command): void {
  program
    .command('start')
    .description('start the local stack: one runner (detect + train), the edge API and a libSQL file database (Ctrl-C stops it)')
    .action(async () => {
      const env = { ...process.env }
      const database = env.DATABASE_URL ?? 'file:./data/genimage.db'
      // Imported here, not at the top: the training stack (tfjs) is ~45 MB of heap that `runner` and `edge` do not need.
      const trainWorker =
        env.TRAIN_WORKER === 'false'
          ? undefined
          : await (await import('@genimage/gpu-runner/jobs')).startTrainWorker({ databaseUrl: database, artifactRoot: env.ARTIFACT_DIR ?? 'artifacts' })
      const runner = await startRunner(runnerConfigFromEnv(env), {
        claimedWork: { giveBack: async () => trainWorker?.stop() },
      })
      const edge = await startEdge({ ...env, RUNNER_URLS: env.RUNNER_URLS ?? runner.url })
      const models = [...runner.repository.models.keys()]
      console.log(`\nGenImage detect API on ${edge.url}  (runner ${runner.url}, database ${database})`)
      if (models.length === 0) {
        console.log('No detector is loaded: the model directory is empty.')
        console.log(`To serve one, ${MAKE_MODEL_COMMANDS} (see the README); then restart.`)
      } else {
        console.log(`Serving: ${models.join(', ')}`)
      }
      console.log(`\nTry:\n  curl -s -F image=@${samplePhoto()} ${edge.url}/v1/detect\n  curl -s ${edge.url}/v1/models\n`)
      await untilSignal()
      console.log('stopping…')
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

function samplePhoto(): string {
  const dir = resolve(SAMPLE_PHOTO)
  return existsSync(dir) ? `${SAMPLE_PHOTO}/<a photo>.jpg` : 'photo.jpg'
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
