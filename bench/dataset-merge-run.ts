// Child process for the merge benchmark: merges one root and prints the time spent inside merge().
import { merge } from '../packages/dataset-tools/src/merge.ts'

const started = performance.now()
const report = await merge(process.argv[2]!, { sequential: process.argv[3] === 'sequential' })
const ms = performance.now() - started
console.log(JSON.stringify({ ms, created: report.created, alreadyPresent: report.alreadyPresent }))
