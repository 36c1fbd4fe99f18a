import { startEdge } from './node-server.ts'

const edge = await startEdge()
console.error(JSON.stringify({ time: new Date().toISOString(), level: 'info', component: 'edge', msg: `edge listening on ${edge.url}` }))
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void edge.close().then(() => process.exit(0))
  })
}
