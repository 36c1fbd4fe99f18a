import { execFile, spawn } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { DatasetError } from './errors.ts'

const execFileAsync = promisify(execFile)

/** A `.deb` file in a cache folder, named by its own control fields (not by its file name). */
export interface CachedDeb {
  file: string
  package: string
  version: string
}

/** Downloads one package into `dir`: the given version, or the configured suites' candidate when none is given. */
export type DebDownloader = (request: { package: string; version?: string; dir: string }) => Promise<void>

const controlCache = new Map<string, { package: string; version: string }>()

/** Every `.deb` in `dir` with its Package and Version fields (empty when the folder does not exist). */
export async function listCachedDebs(dir: string): Promise<CachedDeb[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  const debs: CachedDeb[] = []
  for (const name of names.filter((n) => n.endsWith('.deb')).sort()) {
    const file = path.join(dir, name)
    const info = await stat(file)
    const key = `${file}:${info.size}:${info.mtimeMs}`
    let control = controlCache.get(key)
    if (!control) {
      const { stdout } = await execFileAsync('dpkg-deb', ['--field', file, 'Package', 'Version']).catch((error: Error) => {
        throw new DatasetError('package_unavailable', `${file} is not a readable .deb: ${error.message}`, { cause: error })
      })
      const fields = Object.fromEntries(stdout.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]))
      control = { package: fields.Package ?? '', version: fields.Version ?? '' }
      controlCache.set(key, control)
    }
    debs.push({ file, ...control })
  }
  return debs
}

/** Debian version ordering, as `dpkg --compare-versions` decides it. */
export const debVersion = {
  async compare(a: string, b: string): Promise<number> {
    if (a === b) return 0
    const greater = await execFileAsync('dpkg', ['--compare-versions', a, 'gt', b]).then(
      () => true,
      () => false,
    )
    return greater ? 1 : -1
  },
}

/** `apt-get download <package>[=<version>]` run in `dir`; rejects with apt's own message. */
export const runAptGetDownload: DebDownloader = async (request) => {
  const target = request.version ? `${request.package}=${request.version}` : request.package
  const { code, output } = await run('apt-get', ['download', target], { cwd: request.dir })
  if (code !== 0) throw new Error(`apt-get download ${target} failed (exit ${code}): ${lastLines(output)}`)
}

/**
 * Extracts only `paths` (as listed in the package, without a leading `./`) from a `.deb` into `dest`, keeping their
 * folders: `dpkg-deb --fsys-tarfile` piped into `tar`. A path the package lacks is a `package_unavailable` error.
 */
export async function extractDebFiles(deb: string, paths: readonly string[], dest: string): Promise<void> {
  const members = paths.map((p) => `./${p}`)
  const unpack = spawn('dpkg-deb', ['--fsys-tarfile', deb], { stdio: ['ignore', 'pipe', 'pipe'] })
  const tar = spawn('tar', ['-x', '-f', '-', '-C', dest, '--no-same-owner', '--', ...members], { stdio: ['pipe', 'ignore', 'pipe'] })
  unpack.stdout.pipe(tar.stdin)
  tar.stdin.on('error', () => {})
  const [unpackResult, tarResult] = await Promise.all([finished(unpack), finished(tar)])
  if (unpackResult.code !== 0 && tarResult.code === 0) {
    throw new DatasetError('package_unavailable', `dpkg-deb cannot read ${deb}: ${lastLines(unpackResult.output)}`)
  }
  if (tarResult.code !== 0) {
    throw new DatasetError('package_unavailable', `cannot extract from ${path.basename(deb)}: ${lastLines(tarResult.output)}`)
  }
}

function run(command: string, args: string[], options: { cwd: string }): Promise<{ code: number; output: string }> {
  return finished(spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'ignore', 'pipe'] }))
}

/** Waits for a child to exit, keeping its stderr (stdout is left alone: it may be piped elsewhere). */
function finished(child: ReturnType<typeof spawn>): Promise<{ code: number; output: string }> {
  let output = ''
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  return new Promise((resolve) => {
    child.on('error', (error) => resolve({ code: 127, output: `${output}${error.message}` }))
    child.on('close', (code) => resolve({ code: code ?? 1, output }))
  })
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-4).join(' | ')
}
