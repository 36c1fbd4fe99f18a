import { resolve } from 'node:path'
import {
  audit,
  debiasCommand,
  encodingCuedGenerators,
  buildManifest,
  debias,
  DEFAULT_DEGRADATION_PARAMETERS,
  degrade,
  fetchCalibrationPhotos,
  ingest,
  INTERPOLATIONS,
  merge,
  TABLE5_VARIANTS,
  verify,
  type DegradationSteps,
  type Interpolation,
  type LinkMethod,
  type TransformTreeReport,
} from '@genimage/dataset-tools'
import { Option, type Command } from 'commander'
import { commaList, decimal, integer, positiveInteger } from '../options.ts'
import { optionValue, percent, runDatasetVerb, type CommonDatasetOptions } from './dataset-run.ts'
import { registerMiniCommand } from './mini.ts'

type Opts<T> = T & CommonDatasetOptions

function common(command: Command): Command {
  return command.option('--json', 'print the result as JSON on stdout').option('--no-progress', 'no progress bar')
}

/** Options of the verbs that write a transformed copy of a tree (degrade, debias). */
interface TreeWriteOptions {
  interpolation: Interpolation
  generators?: string
  concurrency: string
}

function treeWriteOptions(command: Command, interpolation: Interpolation): Command {
  return command
    .addOption(new Option('--interpolation <kernel>', 'resampling kernel').choices([...INTERPOLATIONS]).default(interpolation))
    .option('--generators <list>', 'only these generator folders (comma-separated)')
    .option('--concurrency <n>', 'images in parallel', '4')
}

function treeWriteSettings(opts: TreeWriteOptions) {
  return {
    interpolation: opts.interpolation,
    generators: optionValue('--generators', opts.generators, commaList),
    concurrency: optionValue('--concurrency', opts.concurrency, positiveInteger),
  }
}

function transformSummary(verb: string, report: TransformTreeReport): string[] {
  const lines = [
    `${verb}: ${report.written} written, ${report.alreadyDone} already done, ${report.skipped.length} left out, ${report.failed.length} failed → ${report.out}`,
  ]
  for (const failure of report.failed.slice(0, 20)) lines.push(`  failed ${failure.path}: ${failure.reason}`)
  lines.push(`parameters: ${report.sidecar}`)
  return lines
}

/** `genimage dataset …`: the GenImage layout tools (ingest, verify, merge, manifest, audit, degrade, debias) and `mini`. */
export function registerDatasetCommands(program: Command): Command {
  const dataset = program.command('dataset').description('build, check and audit GenImage-layout datasets (<Generator>/{train,val}/{ai,nature})')

  common(dataset.command('ingest'))
    .description(
      "extract each generator's split zip set (name.z01 … name.zip) into <root>/<Generator>/{train,val}/{ai,nature}; quarantine empty or undecodable files",
    )
    .argument('<downloads-dir>', 'folder holding the downloaded archives')
    .argument('<root>', 'dataset root to extract into')
    .option('--map <archive=Generator...>', 'generator folder for an archive name the built-in map does not know')
    .option('--keep-joined', 'keep the joined zip of a split set after extraction')
    .option('--concurrency <n>', 'images decoded in parallel', '4')
    .action(async (downloads: string, root: string, opts: Opts<{ map?: string[]; keepJoined?: boolean; concurrency: string }>) =>
      runDatasetVerb(opts, async ({ progress, signal }) => {
        const generatorOverrides = Object.fromEntries((opts.map ?? []).map((pair) => pair.split('=', 2) as [string, string]))
        const report = await ingest(resolve(downloads), resolve(root), {
          generatorOverrides,
          keepJoined: opts.keepJoined,
          concurrency: optionValue('--concurrency', opts.concurrency, positiveInteger),
          progress,
          signal,
        })
        const summary = report.archives.map(
          (a) =>
            `${a.archive} (${a.parts} part${a.parts > 1 ? 's' : ''}) → ${a.generator}: ${a.status}, ${a.extracted} extracted, ${a.alreadyPresent} already there, ${a.quarantined} quarantined`,
        )
        for (const record of report.quarantined.slice(0, 30)) summary.push(`  quarantined ${record.path}: ${record.reason} (${record.detail})`)
        if (report.quarantined.length > 0) summary.push(`quarantine list: ${resolve(root, 'quarantine.jsonl')}`)
        return { result: report, summary, ok: true, interrupted: report.interrupted }
      }),
    )

  common(dataset.command('verify'))
    .description('decode every image (parallel, bounded memory), check optional md5/sha256 lists; exits 1 when anything is wrong')
    .argument('<root>', 'dataset root')
    .option('--md5 <file>', 'md5sum-format list, paths relative to the root')
    .option('--sha256 <file>', 'sha256sum-format list, paths relative to the root')
    .option('--generators <list>', 'only these generator folders (comma-separated)')
    .option('--restart', 'start over instead of continuing an interrupted run')
    .option('--concurrency <n>', 'images decoded in parallel', '4')
    .action(async (root: string, opts: Opts<{ md5?: string; sha256?: string; generators?: string; restart?: boolean; concurrency: string }>) =>
      runDatasetVerb(opts, async ({ progress, signal }) => {
        const report = await verify(resolve(root), {
          md5List: opts.md5,
          sha256List: opts.sha256,
          generators: optionValue('--generators', opts.generators, commaList),
          restart: opts.restart,
          concurrency: optionValue('--concurrency', opts.concurrency, positiveInteger),
          progress,
          signal,
        })
        const summary = ['generator        split class    files       ok  problems']
        for (const s of report.subsets)
          summary.push(
            `${s.generatorName.padEnd(16)} ${s.split.padEnd(5)} ${s.label.padEnd(7)} ${String(s.files).padStart(6)} ${String(s.ok).padStart(8)} ${String(s.problems.length).padStart(9)}`,
          )
        for (const p of [...report.subsets.flatMap((s) => s.problems), ...report.missing].slice(0, 50)) summary.push(`  ${p.kind}: ${p.path} — ${p.detail}`)
        if (report.resumedFolders > 0) summary.push(`${report.resumedFolders} folder(s) carried over from the interrupted run (--restart to redo)`)
        if (report.quarantinedEarlier > 0) summary.push(`${report.quarantinedEarlier} file(s) quarantined by ingest are listed in quarantine.jsonl`)
        summary.push(
          report.passed
            ? `verify passed: ${report.ok}/${report.files} images fine`
            : `verify FAILED: ${report.files - report.ok} bad of ${report.files}, ${report.missing.length} missing`,
        )
        return { result: report, summary, ok: report.passed, interrupted: report.interrupted }
      }),
    )

  common(dataset.command('merge'))
    .description(
      'build imagenet_ai/{train,val}/{ai,nature} from every generator with hard links (then symlinks, then copies), names prefixed by generator; idempotent',
    )
    .argument('<root>', 'dataset root')
    .addOption(new Option('--method <method>', 'start with this method').choices(['hardlink', 'symlink', 'copy']).default('hardlink'))
    .action(async (root: string, opts: Opts<{ method: LinkMethod }>) =>
      runDatasetVerb(opts, async ({ progress, signal }) => {
        const report = await merge(resolve(root), { method: opts.method, progress, signal })
        const summary = [
          `merged into ${report.merged}: ${report.created.hardlink} hard links, ${report.created.symlink} symbolic links, ${report.created.copy} copies; ${report.alreadyPresent} already there`,
        ]
        for (const fallback of report.fallbacks) summary.push(`  fell back: ${fallback}`)
        for (const conflict of report.conflicts.slice(0, 20)) summary.push(`  not overwritten (different file): ${conflict.path}`)
        return { result: report, summary, ok: report.conflicts.length === 0, interrupted: report.interrupted }
      }),
    )

  common(dataset.command('manifest'))
    .description('record every image (path, generator, split, label, format, size, bytes, JPEG quality, sha256) in libSQL')
    .argument('<root>', 'dataset root')
    .option('--db <url>', 'libSQL URL (default file:<root>/.genimage/manifest.db)')
    .option('--jsonl <file>', 'also write the manifest as JSON Lines')
    .option('--concurrency <n>', 'files hashed in parallel', '4')
    .action(async (root: string, opts: Opts<{ db?: string; jsonl?: string; concurrency: string }>) =>
      runDatasetVerb(opts, async ({ progress, signal }) => {
        const report = await buildManifest(resolve(root), {
          dbUrl: opts.db,
          dbAuthToken: process.env.DATABASE_AUTH_TOKEN,
          jsonlPath: opts.jsonl && resolve(opts.jsonl),
          concurrency: optionValue('--concurrency', opts.concurrency, positiveInteger),
          progress,
          signal,
        })
        const summary = [
          `manifest ${report.dbUrl}: ${report.records} images (${report.written} hashed now, ${report.unchanged} unchanged, ${report.removed} removed)`,
        ]
        if (report.jsonlPath) summary.push(`JSON Lines: ${report.jsonlPath}`)
        for (const path of report.unreadable.slice(0, 20)) summary.push(`  header unreadable: ${path}`)
        return { result: report, summary, ok: report.unreadable.length === 0, interrupted: report.interrupted }
      }),
    )

  common(dataset.command('audit'))
    .description(
      'per generator × class distributions of format, size and JPEG quality; flag separating properties; metadata-only baseline accuracy; table + SVG',
    )
    .argument('<root>', 'dataset root')
    .option('--db <url>', 'manifest libSQL URL (default file:<root>/.genimage/manifest.db)')
    .option('--out <dir>', 'folder for audit.md, audit.svg, audit.json (default <root>/.genimage/audit)')
    .option('--no-refresh', 'audit the manifest as it is instead of updating it first')
    .option('--flag-threshold <tv>', 'flag properties whose class distributions differ by this total variation distance', '0.5')
    .action(async (root: string, opts: Opts<{ db?: string; out?: string; refresh: boolean; flagThreshold: string }>) =>
      runDatasetVerb(opts, async ({ progress, signal }) => {
        const report = await audit(resolve(root), {
          dbUrl: opts.db,
          dbAuthToken: process.env.DATABASE_AUTH_TOKEN,
          outDir: opts.out && resolve(opts.out),
          refreshManifest: opts.refresh,
          flagThreshold: optionValue('--flag-threshold', opts.flagThreshold, decimal()),
          progress,
          signal,
        })
        const summary: string[] = ['generator        class   images  formats']
        for (const g of report.generators) {
          for (const label of ['ai', 'nature'] as const) {
            const c = g.classes[label]
            summary.push(
              `${g.generatorName.padEnd(16)} ${label.padEnd(7)} ${String(c.images).padStart(6)}  ${Object.entries(c.formats)
                .map(([f, n]) => `${f} ${n}`)
                .join(', ')}  sizes ${Object.keys(c.topSizes).slice(0, 3).join(' ')}  q ${Object.keys(c.jpegQualities).slice(0, 3).join(' ') || '—'}`,
            )
          }
        }
        for (const g of report.generators)
          for (const f of g.flags) summary.push(`FLAG ${g.generatorName}: ${f.feature} separates the classes (TV ${f.separation.toFixed(2)}): ${f.summary}`)
        for (const g of report.generators)
          summary.push(
            `metadata-only baseline ${g.generatorName}: ${percent(g.baseline.valAccuracy)} val accuracy (chance ${percent(g.baseline.chance)}) — ${g.baseline.description}`,
          )
        if (encodingCuedGenerators(report).length > 0)
          summary.push(`the encoding cue can be taken away: ${debiasCommand(report.root)}, or --debias on \`experiment run\` (see audit.md)`)
        summary.push(`table ${report.files.table}`, `chart ${report.files.svg}`)
        return { result: report, summary, ok: true }
      }),
    )

  treeWriteOptions(common(dataset.command('degrade')), DEFAULT_DEGRADATION_PARAMETERS.interpolation)
    .description('write degraded copies (GenImage Table 5: downscale 112/64, JPEG q65/q30, blur sigma 3/5, or any combination) with a degrade.json sidecar')
    .argument('<root>', 'dataset root')
    .argument('<out>', 'output root (same layout)')
    .option('--downscale <px>', 'shorter side to this many pixels')
    .option('--jpeg <quality>', 'JPEG re-encode quality')
    .option('--blur <sigma>', 'Gaussian blur sigma')
    .option('--table5', 'write all six Table 5 variants into <out>/<variant>/')
    .option('--keep-real', 'leave nature images undegraded (default: degrade both classes)')
    .option('--seed <n>', 'seed for --sample', '0')
    .option('--sample <fraction>', 'degrade only this seeded fraction of images')
    .action(
      async (
        root: string,
        out: string,
        opts: Opts<
          TreeWriteOptions & { downscale?: string; jpeg?: string; blur?: string; table5?: boolean; keepReal?: boolean; seed: string; sample?: string }
        >,
      ) =>
        runDatasetVerb(opts, async ({ progress, signal }) => {
          const shared = {
            ...treeWriteSettings(opts),
            degradeReal: !opts.keepReal,
            seed: optionValue('--seed', opts.seed, integer()),
            sample: optionValue('--sample', opts.sample, decimal()),
            progress,
            signal,
          }
          const single: DegradationSteps = {
            downscale: optionValue('--downscale', opts.downscale, integer()),
            jpeg: optionValue('--jpeg', opts.jpeg, integer()),
            blur: optionValue('--blur', opts.blur, decimal()),
          }
          const runs: [string, DegradationSteps][] = opts.table5
            ? Object.entries(TABLE5_VARIANTS).map(([name, settings]) => [resolve(out, name), settings])
            : [[resolve(out), single]]
          const reports: TransformTreeReport[] = []
          for (const [target, settings] of runs) {
            if (signal.aborted) break
            reports.push(await degrade(resolve(root), target, { ...settings, ...shared }))
          }
          return {
            result: opts.table5 ? reports : reports[0],
            summary: reports.flatMap((r) => transformSummary('degrade', r)),
            ok: reports.every((r) => r.failed.length === 0),
            interrupted: signal.aborted,
          }
        }),
    )

  treeWriteOptions(common(dataset.command('debias')), 'bicubic')
    .description('JPEG-align both classes (default quality 96) and bound sizes (shorter side down to --size, centre square crop); same layout out')
    .argument('<root>', 'dataset root')
    .argument('<out>', 'output root (same layout)')
    .option('--quality <q>', 'JPEG quality for both classes', '96')
    .option('--size <px>', 'output side (never enlarged)', '256')
    .option('--min-side <px>', 'leave out images whose shorter side is below this', '0')
    .action(async (root: string, out: string, opts: Opts<TreeWriteOptions & { quality: string; size: string; minSide: string }>) =>
      runDatasetVerb(opts, async ({ progress, signal }) => {
        const report = await debias(resolve(root), resolve(out), {
          quality: optionValue('--quality', opts.quality, integer()),
          size: optionValue('--size', opts.size, integer()),
          minSide: optionValue('--min-side', opts.minSide, integer()),
          ...treeWriteSettings(opts),
          progress,
          signal,
        })
        return { result: report, summary: transformSummary('debias', report), ok: report.failed.length === 0, interrupted: report.interrupted }
      }),
    )

  common(dataset.command('photos').command('fetch'))
    .description('download the real photographs of photos-calibration.json (full size, sha256-checked, never for training) into <out>')
    .argument('<out>', 'folder for the photos, ATTRIBUTION.md and the manifest')
    .option('--debs <dir>', 'cache of .deb files: read first, downloads kept there (default <out>/.debs)')
    .option('--offline', 'never run apt-get; every package must be in --debs')
    .action(async (out: string, opts: Opts<{ debs?: string; offline?: boolean }>) =>
      runDatasetVerb(opts, async ({ signal }) => {
        const log = opts.progress === false ? () => {} : (line: string) => process.stderr.write(`${line}\n`)
        const report = await fetchCalibrationPhotos(resolve(out), { debs: opts.debs && resolve(opts.debs), offline: opts.offline, log, signal })
        const summary = [
          `photos fetch: ${report.written.length} written, ${report.kept.length} already verified, ${report.listed} listed, ${(report.bytes / 1048576).toFixed(1)} MiB → ${report.out}`,
          ...report.packages.filter((p) => p.used !== p.requested).map((p) => `  ${p.package}: ${p.requested} is gone, used ${p.used}`),
        ]
        return { result: report, summary, ok: true, interrupted: report.interrupted }
      }),
    )

  registerMiniCommand(dataset)
  return dataset
}
