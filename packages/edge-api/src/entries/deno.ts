// Deno entry: `deno run --allow-net --allow-env --allow-read --allow-write --allow-ffi packages/edge-api/src/entries/deno.ts`
import { createDb, ensureDbDirectory } from '@genimage/shared/db'
import { createApp } from '../app.ts'
import { edgeEnvironment } from '../config.ts'
import { RunnerPool } from '../runners/runner-pool.ts'
import { createLibsqlStore } from '../store/libsql-store.ts'

declare const Deno: {
  env: { toObject(): Record<string, string> }
  serve(options: { port: number; hostname: string }, handler: (request: Request) => Response | Promise<Response>): unknown
}

const settings = edgeEnvironment(Deno.env.toObject())
await ensureDbDirectory(settings.databaseUrl)
const db = await createDb(settings.databaseUrl, { authToken: settings.databaseAuthToken })
const app = createApp({ store: createLibsqlStore(db), runners: new RunnerPool(settings.runnerUrls), config: settings.config })
Deno.serve({ port: settings.port, hostname: settings.host }, app.fetch)
