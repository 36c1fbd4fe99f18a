// Builds the edge as single-file ES module bundles: dist/edge-workerd.js (module worker for workerd /
// Cloudflare Workers) and dist/edge-deno.js (Deno / Deno Deploy). Usage: npx tsx scripts/build-bundles.ts
import { mkdir, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** One bundle per target runtime; `node:*` built-ins stay imports (workerd's nodejs_compat and Deno provide them). */
export const BUNDLES = [
  { name: 'edge-workerd.js', entry: 'src/entries/workerd.ts', conditions: ['workerd', 'worker', 'browser'] },
  { name: 'edge-deno.js', entry: 'src/entries/deno-deploy.ts', conditions: ['worker', 'browser'] },
] as const

/** Builds every bundle into `outDir`; returns each file with its size in bytes. */
export async function buildBundles(outDir = join(root, 'dist')): Promise<{ file: string; bytes: number }[]> {
  await mkdir(outDir, { recursive: true })
  const built: { file: string; bytes: number }[] = []
  for (const bundle of BUNDLES) {
    const file = join(outDir, bundle.name)
    await build({
      entryPoints: [join(root, bundle.entry)],
      outfile: file,
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['module', 'main'],
      conditions: [...bundle.conditions],
      external: ['node:*'],
      // Worker runtimes leave import.meta.url unset; shared/db only uses it to locate migration files, which a
      // bundled edge never reads (the database is migrated by the CLI or the runners).
      define: { 'import.meta.url': JSON.stringify(`file:///bundle/${bundle.name}`) },
      logLevel: 'warning',
    })
    built.push({ file, bytes: (await stat(file)).size })
  }
  return built
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const { file, bytes } of await buildBundles(process.argv[2])) console.log(`${file}  ${(bytes / 1024).toFixed(0)} KiB`)
}
