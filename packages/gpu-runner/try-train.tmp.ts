import { resolveTfBackend } from './src/tf/index.ts'
import { makeSyntheticDataset } from './test/train-fixtures.ts'
import { trainDetector } from './src/training/train.ts'
import { writeModelFolder } from './src/export/model-folder.ts'
const backend = process.argv[2] ?? 'wasm'
await resolveTfBackend({ priority: [backend as 'wasm'] })
const root = await makeSyntheticDataset({ size: 64 })
console.log(root)
const t0 = Date.now()
const result = await trainDetector({ model: 'npr-tiny', dataRoot: root, trainOn: ['SynthGen'], epochs: 4, batchSize: 8, checkpointDir: root + '/ckpt',
  onProgress: (e) => { if (e.type !== 'step' || e.step % 3 === 0) console.log(JSON.stringify(e)) } })
console.log('train s', (Date.now()-t0)/1000, result.valAccuracy, result.evaluation)
const card = await writeModelFolder(result, root + '/out', { dataRoot: root, command: 'test' })
console.log(card.name, card.sha256)
