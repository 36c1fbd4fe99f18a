import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

/** A native addon once loaded, or why it is not in use (sharp then does its work alone). */
export interface NativeAddonStatus<Addon> {
  addon?: Addon
  reason: string
}

/** What `nativeAddon` needs to know about one addon built by scripts/build-native.mjs. */
export interface NativeAddonSpec<Raw, Addon> {
  /** Folder under packages/imaging/native, e.g. `png-jpeg`. */
  folder: string
  /** The `.node` file's base name in `build/Release`, e.g. `png_jpeg`. */
  file: string
  /** What the addon is, for messages: `native PNG → JPEG path`. */
  title: string
  /** Environment variable that turns the addon off when set to `sharp`. */
  optOut: string
  /** Wraps the loaded module and says what it serves (the status reason). */
  adapt: (raw: Raw) => { addon: Addon; reason: string }
}

/**
 * A loader for one optional native addon: loads it once (later calls get the same status), and reports why
 * not when it is absent, fails to load, or the environment opts out (`<optOut>=sharp`, checked on every call).
 */
export function nativeAddon<Raw, Addon>(spec: NativeAddonSpec<Raw, Addon>): (env?: Record<string, string | undefined>) => NativeAddonStatus<Addon> {
  const path = fileURLToPath(new URL(`../native/${spec.folder}/build/Release/${spec.file}.node`, import.meta.url))
  let loaded: NativeAddonStatus<Addon> | undefined
  return function loadNativeAddon(env = process.env) {
    if (env[spec.optOut] === 'sharp') return { reason: `${spec.optOut}=sharp` }
    if (loaded) return loaded
    if (!existsSync(path)) {
      loaded = { reason: `${spec.title} not built (${path} missing; npm run build:native builds it)` }
      return loaded
    }
    try {
      loaded = spec.adapt(createRequire(import.meta.url)(path) as Raw)
    } catch (error) {
      loaded = { reason: `${spec.title} failed to load: ${error instanceof Error ? error.message : String(error)}` }
    }
    return loaded
  }
}

/** Why a native addon declined an image; the caller then uses sharp, which has the final word. */
export type NativeFailure = 'too_large' | 'unsupported' | 'corrupt'

/** The failure code of a native rejection, or undefined for any other error. */
export function nativeFailureCode(error: unknown): NativeFailure | undefined {
  const code = (error as { code?: unknown } | undefined)?.code
  return code === 'too_large' || code === 'unsupported' || code === 'corrupt' ? code : undefined
}
