// Deno entry: `deno run --allow-net --allow-env --allow-read --allow-write --allow-ffi packages/edge-api/src/entries/deno.ts`
import { createDb, ensureDbDirectory } from '@genimage/shared/db'
import { edgeEnvironment } from '../config.ts'
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
const app = createLibsqlEdgeApp(db, settings, { resolveHost: nodeResolveHost, fetchUrl: createPinnedFetch() })
Deno.serve({ port: settings.port, hostname: settings.host }, app.fetch)
