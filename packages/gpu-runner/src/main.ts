import { runnerConfigFromEnv } from './config.ts'
import { startRunner } from './server/start-runner.ts'

const runner = await startRunner(runnerConfigFromEnv())
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void runner.close().then(() => process.exit(0))
  })
}
