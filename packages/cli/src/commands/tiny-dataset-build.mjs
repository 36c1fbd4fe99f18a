// The child process `ensureTinyDataset` starts: builds one tiny GenImage-mini (argv[2]) and reports over IPC.
import { register } from 'tsx/esm/api'

register()
const { buildTinyDatasetHere } = await import('./tiny-dataset-child.ts')
await buildTinyDatasetHere(process.argv[2])
