// Deno entry: `deno run --allow-net --allow-env --allow-read --allow-write --allow-ffi packages/edge-api/src/entries/deno.ts`
import { createDb, ensureDbDirectory } from '@genimage/shared/db'
import { startEdgeCallbackDeliverer } from '../callbacks/edge-deliverer.ts'
import { edgeEnvironment } from '../config.ts'
import { openNodeDetectJobs } from '../jobs/node-detect-jobs.ts'
import { createLibsqlEdgeApp } from './libsql-app.ts'
import { createPinnedFetch } from './node-pinned-fetch.ts'
import { nodeResolveHost } from './node-resolver.ts'

declare const Deno: {
  env: { toObject(): Record<string, string> }
  serve(options: { port: number; hostname: string }, handler: (request: Request) => Response | Promise<Response>): unknown
}

const settings = edgeEnvironment(Deno.env.toObject())
await ensureDbDirectory(settings.databaseUrl)
const db = await createDb(settings.databaseUrl, { authToken: settings.databaseAuthToken })
// Async detect (issue 17 items 3-4): Deno has a filesystem, so the spool and its worker run here as on Node.
const detectJobs = await openNodeDetectJobs(db, settings, nodeResolveHost)
const app = createLibsqlEdgeApp(db, settings, { resolveHost: nodeResolveHost, fetchUrl: createPinnedFetch(), detectJobs })
await detectJobs.start()
startEdgeCallbackDeliverer(db, settings, { resolveHost: nodeResolveHost, fetchFor: (allowPrivate) => createPinnedFetch(allowPrivate ? () => true : undefined) })
Deno.serve({ port: settings.port, hostname: settings.host }, app.fetch)
