// Child process for the merge benchmark: merges one root and prints the time spent inside merge().
import { merge } from '@genimage/dataset-tools'

const started = performance.now()
const cpuBefore = process.cpuUsage()
const report = await merge(process.argv[2]!, { sequential: process.argv[3] === 'sequential' })
const ms = performance.now() - started
const cpu = process.cpuUsage(cpuBefore)
console.log(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, created: report.created, alreadyPresent: report.alreadyPresent }))
