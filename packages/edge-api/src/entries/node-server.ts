import { serve } from '@hono/node-server'
import { createDb, ensureDbDirectory } from '@genimage/shared/db'
import { edgeEnvironment } from '../config.ts'
import { createLibsqlEdgeApp } from './libsql-app.ts'
import { createPinnedFetch } from './node-pinned-fetch.ts'
import { createNodeRunnerFetch } from './node-runner-fetch.ts'
import { nodeResolveHost } from './node-resolver.ts'

export interface RunningEdge {
  url: string
  close(): Promise<void>
}

/** Starts the edge API on Node: opens (and migrates) the database, then serves until closed. */
export async function startEdge(env: Record<string, string | undefined> = process.env): Promise<RunningEdge> {
  const settings = edgeEnvironment(env)
  await ensureDbDirectory(settings.databaseUrl)
  const db = await createDb(settings.databaseUrl, { authToken: settings.databaseAuthToken })
  const runnerFetch = createNodeRunnerFetch()
  const app = createLibsqlEdgeApp(db, settings, { resolveHost: nodeResolveHost, fetchUrl: createPinnedFetch(), runnerFetch })
  const server = await new Promise<ReturnType<typeof serve>>((done, fail) => {
    const s = serve({ fetch: app.fetch, port: settings.port, hostname: settings.host }, () => done(s))
    s.once('error', fail)
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : settings.port
  return {
    url: `http://${settings.host}:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => {
          runnerFetch.close()
          db.$client.close()
          done()
        })
        if ('closeIdleConnections' in server) server.closeIdleConnections()
      }),
  }
}
