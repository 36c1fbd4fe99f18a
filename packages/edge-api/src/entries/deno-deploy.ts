// Deno Deploy entry: like entries/deno.ts, but with the libSQL web client (a libSQL server over HTTP:
// DATABASE_URL=https://…), no file database and no native module, so it can ship as one bundled file.
import { createClient } from '@libsql/client/web'
import { type Db, schema } from '@genimage/shared/db'
import { drizzle } from 'drizzle-orm/libsql/web'
import { edgeEnvironment } from '../config.ts'
import { createLibsqlEdgeApp } from './libsql-app.ts'

declare const Deno: {
  env: { toObject(): Record<string, string> }
  serve(options: { port: number; hostname: string }, handler: (request: Request) => Response | Promise<Response>): unknown
}

const settings = edgeEnvironment(Deno.env.toObject())
const client = createClient({ url: settings.databaseUrl, authToken: settings.databaseAuthToken })
const app = createLibsqlEdgeApp(drizzle(client, { schema }) as unknown as Db, settings)
Deno.serve({ port: settings.port, hostname: settings.host }, app.fetch)
