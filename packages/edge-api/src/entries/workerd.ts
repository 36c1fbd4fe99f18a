// workerd / Cloudflare Workers entry: a module worker. The database must be a libSQL server (sqld or Turso)
// reached over HTTP: `DATABASE_URL=https://…` (plus DATABASE_AUTH_TOKEN); migrations are applied by whoever
// runs the database (`npx genimage` commands or the runner), not by the worker.
import { createClient } from '@libsql/client/web'
import { type Db, schema } from '@genimage/shared/db'
import { drizzle } from 'drizzle-orm/libsql/web'
import type { ExecutionContext, Hono } from 'hono'
import type { AppEnv } from '../app.ts'
import { edgeEnvironment } from '../config.ts'
import { createLibsqlEdgeApp } from './libsql-app.ts'

let app: Hono<AppEnv> | undefined

function appFor(env: Record<string, unknown>): Hono<AppEnv> {
  if (app) return app
  const strings = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'))
  const settings = edgeEnvironment(strings)
  const client = createClient({ url: settings.databaseUrl, authToken: settings.databaseAuthToken })
  const db = drizzle(client, { schema }) as unknown as Db
  app = createLibsqlEdgeApp(db, settings)
  return app
}

export default {
  fetch(request: Request, env: Record<string, unknown>, ctx: ExecutionContext): Response | Promise<Response> {
    return appFor(env).fetch(request, env, ctx)
  },
}
