import { serve } from '@hono/node-server'
import { createDb, ensureDbDirectory } from '@genimage/shared/db'
import { startEdgeCallbackDeliverer } from '../callbacks/edge-deliverer.ts'
import { edgeEnvironment } from '../config.ts'
import { openNodeDetectJobs } from '../jobs/node-detect-jobs.ts'
import { createLibsqlEdgeApp } from './libsql-app.ts'
import { fileDatasetCatalog } from './node-datasets.ts'
import { createPinnedFetch } from './node-pinned-fetch.ts'
import { createNodeRunnerFetch } from './node-runner-fetch.ts'
import { nodeResolveHost } from './node-resolver.ts'

export interface RunningEdge {
  url: string
  close(): Promise<void>
}

/** How long an idle client connection is kept open, in ms. */
export const KEEP_ALIVE_MS = 65_000

/** Starts the edge API on Node: opens (and migrates) the database, then serves until closed. */
export async function startEdge(env: Record<string, string | undefined> = process.env): Promise<RunningEdge> {
  const settings = edgeEnvironment(env)
  await ensureDbDirectory(settings.databaseUrl)
  const db = await createDb(settings.databaseUrl, { authToken: settings.databaseAuthToken })
  const runnerFetch = createNodeRunnerFetch()
  const datasetDirs = settings.config.datasetDirs ?? settings.config.dataRoots
  const datasets = datasetDirs && fileDatasetCatalog(datasetDirs)
  // Async detect (issue 17 items 3-4): images wait in the spool until the worker, started below, scores them.
  const detectJobs = await openNodeDetectJobs(db, settings, nodeResolveHost)
  const app = createLibsqlEdgeApp(db, settings, { resolveHost: nodeResolveHost, fetchUrl: createPinnedFetch(), runnerFetch, datasets, detectJobs })
  await detectJobs.start()
  const callbacks = startEdgeCallbackDeliverer(db, settings, {
    resolveHost: nodeResolveHost,
    fetchFor: (allowPrivate) => createPinnedFetch(allowPrivate ? () => true : undefined),
  })
  const server = await new Promise<ReturnType<typeof serve>>((done, fail) => {
    const s = serve({ fetch: app.fetch, port: settings.port, hostname: settings.host }, () => done(s))
    s.once('error', fail)
  })
  // Idle keep-alive connections stay open 65 s (Node's default is 5 s): longer than the idle timeout of the proxies
  // and clients that pool connections to the edge, so the edge never closes a connection just as a client reuses it.
  if ('keepAliveTimeout' in server) {
    server.keepAliveTimeout = KEEP_ALIVE_MS
    server.headersTimeout = KEEP_ALIVE_MS + 1000
  }
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : settings.port
  return {
    url: `http://${settings.host}:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(async () => {
          await callbacks.stop()
          await detectJobs.close()
          runnerFetch.close()
          db.$client.close()
          done()
        })
        if ('closeIdleConnections' in server) server.closeIdleConnections()
      }),
  }
}
