import { CONSOLE_BUILD } from '../dist/console-assets.ts'
import type { ConsoleAsset, ConsoleConfig } from './console-build.ts'

export type { ConsoleAsset, ConsoleBuild, ConsoleConfig } from './console-build.ts'

/** The built console (dist/console-assets.ts, written by `npm run build -w @genimage/console` and at install). */
export const consoleBuild = CONSOLE_BUILD

/**
 * The console's HTML page for one deployment: `config` rides along as a JSON data block (not a script, so a
 * strict Content-Security-Policy holds), with `<` escaped so no value can close the block.
 */
export function consolePage(config: ConsoleConfig): string {
  return CONSOLE_BUILD.page.replace('__CONFIG__', () => JSON.stringify(config).replace(/</g, '\\u003c'))
}

/** A built script or stylesheet by its path (`/console/console.<hash>.js`); undefined for any other path. */
export function consoleAsset(path: string): ConsoleAsset | undefined {
  return Object.hasOwn(CONSOLE_BUILD.assets, path) ? CONSOLE_BUILD.assets[path] : undefined
}
