#!/usr/bin/env node
// Builds the project's optional native addons with node-gyp (npm's own copy) after `npm ci`/`npm install`.
// Today they are the runner's libjpeg-turbo JPEG decoder (packages/imaging/native/jpeg-scaled) and the PNG → JPEG
// path of @genimage/imaging's degradeImage (packages/imaging/native/png-jpeg), which need a C compiler and the libjpeg and libdeflate
// headers (Debian: g++ make libjpeg62-turbo-dev libdeflate-dev). A build that fails never fails the install: sharp
// then does that work alone, and the runner says so in its log.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const addons = [
  ['packages/imaging/native/jpeg-scaled', 'the runner will decode JPEGs with sharp only'],
  ['packages/imaging/native/png-jpeg', 'degradeImage (dataset degrade, the table5 evaluator) will encode PNG → JPEG with sharp only'],
]
const npmGyp = join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')
const gyp = process.env.npm_config_node_gyp ?? npmGyp
const nodeDir = join(dirname(process.execPath), '..')
// Build against the installed Node's headers when they are there, so node-gyp never goes online for them.
const headers = existsSync(join(nodeDir, 'include/node/node_api.h')) ? [`--nodedir=${nodeDir}`] : []

let failed = 0
for (const [addon, fallback] of addons) {
  const run = spawnSync(process.execPath, [gyp, 'rebuild', ...headers], { cwd: join(root, addon), encoding: 'utf8' })
  if (run.status === 0) {
    console.log(`native: built ${addon}`)
    continue
  }
  failed += 1
  const why = `${run.error?.message ?? ''}\n${run.stderr ?? ''}`.trim().split('\n').filter(Boolean).slice(-4).join('\n  ')
  console.warn(`native: ${addon} was not built; ${fallback}.\n  ${why}`)
}
if (failed > 0 && process.argv.includes('--strict')) process.exit(1)
