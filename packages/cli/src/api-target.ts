import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Command } from 'commander'

/** Where `genimage start` and `genimage edge` listen when nothing says otherwise. */
export const DEFAULT_API_URL = 'http://127.0.0.1:8787'

/** The edge API a command talks to, the key it sends, and where each came from (for hints and errors). */
export interface ApiTarget {
  baseUrl: string
  apiKey?: string
  /** `--api`, `GENIMAGE_API`, `PORT` (with `HOST`) or the default. */
  urlFrom: 'flag' | 'GENIMAGE_API' | 'PORT' | 'default'
  /** `--api-key`, `GENIMAGE_API_KEY`, the file `keys create --save` wrote, or none. */
  keyFrom: 'flag' | 'GENIMAGE_API_KEY' | 'config' | 'none'
}

/** What `genimage keys create --save` writes: the key the CLI sends when neither `--api-key` nor `GENIMAGE_API_KEY` is set. */
export interface SavedApiKey {
  secret: string
  id: string
  name: string
  scopes: string[]
  savedAt: string
}

/** The saved-key file: `$GENIMAGE_CONFIG`, else `$XDG_CONFIG_HOME/genimage/api-key.json`, else `~/.config/genimage/api-key.json`. */
export function savedKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GENIMAGE_CONFIG) return env.GENIMAGE_CONFIG
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'genimage', 'api-key.json')
}

/** Writes the key for later commands, readable by its owner only (0600). Returns the file's path. */
export async function saveApiKey(key: SavedApiKey, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const path = savedKeyPath(env)
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await writeFile(path, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 })
  await chmod(path, 0o600)
  return path
}

/** The saved key, or undefined when there is none; a file that is not a saved key is an error naming it. */
export async function readSavedApiKey(env: NodeJS.ProcessEnv = process.env): Promise<SavedApiKey | undefined> {
  const path = savedKeyPath(env)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const parsed = JSON.parse(text) as Partial<SavedApiKey>
  if (typeof parsed.secret !== 'string') throw new Error(`${path} holds no API key (expected the file \`genimage keys create --save\` writes)`)
  return parsed as SavedApiKey
}

/** A host the stack listens on, as a client reaches it: `0.0.0.0` and `::` mean this machine. */
function reachableHost(host: string | undefined): string {
  if (!host || host === '0.0.0.0') return '127.0.0.1'
  if (host === '::' || host === '[::]') return '[::1]'
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

/**
 * The edge API URL, found the way the stack was started: `--api`, else `GENIMAGE_API` (or the older
 * `GENIMAGE_API_URL`), else `PORT` on `HOST` (what `genimage start` and `genimage edge` listen on), else
 * {@link DEFAULT_API_URL}.
 */
export function resolveApiUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Pick<ApiTarget, 'baseUrl' | 'urlFrom'> {
  const strip = (url: string) => url.replace(/\/+$/, '')
  if (flag) return { baseUrl: strip(flag), urlFrom: 'flag' }
  const named = env.GENIMAGE_API || env.GENIMAGE_API_URL
  if (named) return { baseUrl: strip(named), urlFrom: 'GENIMAGE_API' }
  if (env.PORT && env.PORT !== '0') return { baseUrl: `http://${reachableHost(env.HOST)}:${env.PORT}`, urlFrom: 'PORT' }
  return { baseUrl: DEFAULT_API_URL, urlFrom: 'default' }
}

/** The URL and key a command uses: see {@link resolveApiUrl}; the key from `--api-key`, `GENIMAGE_API_KEY`, or the saved key. */
export async function resolveApiTarget(flags: { api?: string; apiKey?: string }, env: NodeJS.ProcessEnv = process.env): Promise<ApiTarget> {
  const url = resolveApiUrl(flags.api, env)
  if (flags.apiKey) return { ...url, apiKey: flags.apiKey, keyFrom: 'flag' }
  if (env.GENIMAGE_API_KEY) return { ...url, apiKey: env.GENIMAGE_API_KEY, keyFrom: 'GENIMAGE_API_KEY' }
  const saved = await readSavedApiKey(env)
  return saved ? { ...url, apiKey: saved.secret, keyFrom: 'config' } : { ...url, keyFrom: 'none' }
}

/**
 * ` --api <url>` when the URL is not the default, so that a printed command works when pasted into another shell;
 * empty otherwise. The key is never printed: pasted commands find it as this one did (env or saved file).
 */
export function apiArgument(target: Pick<ApiTarget, 'baseUrl'>): string {
  return target.baseUrl === DEFAULT_API_URL ? '' : ` --api ${target.baseUrl}`
}

/** `npx genimage <args> [--api <url>]`: a command to print as a hint. */
export function hintCommand(target: Pick<ApiTarget, 'baseUrl'>, args: string): string {
  return `npx genimage ${args}${apiArgument(target)}`
}

/** Options every API-calling command takes (`--api`, `--api-key`), with no defaults so that each source is seen. */
export function apiOptions(command: Command, scope: string): Command {
  return command
    .option('--api <url>', `edge API base URL (default: $GENIMAGE_API, else http://$HOST:$PORT when PORT is set, else ${DEFAULT_API_URL})`)
    .option('--api-key <key>', `API key with the ${scope} scope (default: $GENIMAGE_API_KEY, else the key \`genimage keys create --save\` saved)`)
}

/** What to do about a refused key, naming the scope the command needs. */
export function keyAdvice(code: string, scope: string): string | undefined {
  const create = `npx genimage keys create --name me --scopes ${scope} --save`
  if (code === 'unauthorized') return `this edge requires an API key with the ${scope} scope: ${create} (or set GENIMAGE_API_KEY)`
  if (code === 'forbidden') return `the API key lacks the ${scope} scope: ${create}`
  return undefined
}

/** `keys create --save`: saves a new key's secret for later commands and says where (on stderr, so `--json` stays clean). */
export async function saveCreatedKey(key: { secret: string; id: string; name: string; scopes: string[] }): Promise<string> {
  const path = await saveApiKey({ secret: key.secret, id: key.id, name: key.name, scopes: key.scopes, savedAt: new Date().toISOString() })
  console.error(`saved the secret to ${path} (readable by you only): genimage commands send it unless --api-key or GENIMAGE_API_KEY is set`)
  return path
}
