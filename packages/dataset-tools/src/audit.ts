import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createDb, readManifestRecords } from '@genimage/shared/db'
import {
  AUDIT_FEATURES,
  bucketLowerBytes,
  classSeparation,
  fitLookup,
  fitThreshold,
  GeneratorAudit,
  JOINT_RULE,
  type AuditFeature,
  type BaselineRule,
} from './audit-stats.ts'
import { renderAuditSvg, renderAuditTable } from './audit-render.ts'

export { debiasCommand, encodingCuedGenerators } from './audit-render.ts'
import { DatasetError } from './errors.ts'
import { generatorDisplayName } from '@genimage/shared/genimage'
import { buildManifest, defaultManifestUrl } from './manifest.ts'
import type { Progress } from './progress.ts'
import { TOOL_FOLDER } from './state.ts'

export interface AuditOptions {
  dbUrl?: string
  /** Auth token for a remote libSQL server. */
  dbAuthToken?: string
  /** Folder for audit.json, audit.md and audit.svg; default `<root>/.genimage/audit`. */
  outDir?: string
  /** Update the manifest first (default true); false audits the manifest as it is. */
  refreshManifest?: boolean
  /** Flag a property when its class distributions differ by at least this total variation distance (default 0.5). */
  flagThreshold?: number
  progress?: Progress
  signal?: AbortSignal
}

/** The distribution of one class of one generator. */
export interface ClassProfile {
  images: number
  formats: Record<string, number>
  /** Most common sizes, `WxH` → images, at most 5. */
  topSizes: Record<string, number>
  /** JPEG qualities → images (JPEGs only). */
  jpegQualities: Record<string, number>
  medianBytes: number
}

/** A property whose distribution alone separates the classes. */
export interface SeparationFlag {
  feature: AuditFeature
  separation: number
  summary: string
}

export interface GeneratorAuditReport {
  generator: string
  generatorName: string
  classes: { ai: ClassProfile; nature: ClassProfile }
  flags: SeparationFlag[]
  /** One rule per property plus the joint rule, each fitted on train and scored on val. */
  rules: BaselineRule[]
  /** The best rule by val accuracy: how much a detector could cheat. */
  baseline: BaselineRule
}

export interface AuditReport {
  root: string
  generators: GeneratorAuditReport[]
  files: { json: string; table: string; svg: string }
}

function top(histogram: Map<string | number, { ai: number; nature: number }>, label: 'ai' | 'nature', limit: number): Record<string, number> {
  return Object.fromEntries(
    [...histogram]
      .filter(([, counts]) => counts[label] > 0)
      .sort((a, b) => b[1][label] - a[1][label])
      .slice(0, limit)
      .map(([value, counts]) => [String(value), counts[label]]),
  )
}

function profile(stats: GeneratorAudit, sizes: Map<string, { ai: number; nature: number }>, label: 'ai' | 'nature'): ClassProfile {
  const images = stats.totals.train[label] + stats.totals.val[label]
  const bytes = [...stats.histogram('bytes', 'all')].filter(([, c]) => c[label] > 0).sort((a, b) => Number(a[0]) - Number(b[0]))
  let seen = 0
  let median = 0
  for (const [bucket, counts] of bytes) {
    seen += counts[label]
    if (seen * 2 >= images) {
      median = bucketLowerBytes(Number(bucket))
      break
    }
  }
  const qualities = top(stats.histogram('jpegQuality', 'all'), label, 100)
  delete qualities.none
  return { images, formats: top(stats.histogram('format', 'all'), label, 20), topSizes: top(sizes, label, 5), jpegQualities: qualities, medianBytes: median }
}

function describeSeparation(feature: AuditFeature, ai: ClassProfile, nature: ClassProfile): string {
  const share = (record: Record<string, number>, total: number) =>
    Object.entries(record)
      .slice(0, 2)
      .map(([value, n]) => `${Math.round((100 * n) / Math.max(1, total))}% ${value}`)
      .join(', ')
  switch (feature) {
    case 'format':
      return `ai: ${share(ai.formats, ai.images)}; nature: ${share(nature.formats, nature.images)}`
    case 'jpegQuality':
      return `ai: ${share(ai.jpegQualities, ai.images) || 'no JPEG'}; nature: ${share(nature.jpegQualities, nature.images) || 'no JPEG'}`
    case 'bytes':
      return `median ai ${ai.medianBytes} B, nature ${nature.medianBytes} B`
    default:
      return `ai: ${share(ai.topSizes, ai.images)}; nature: ${share(nature.topSizes, nature.images)}`
  }
}

function analyse(stats: GeneratorAudit, flagThreshold: number): GeneratorAuditReport {
  const sizes = new Map<string, { ai: number; nature: number }>()
  for (const [joint, counts] of stats.histogram(JOINT_RULE, 'all')) {
    const size = String(joint).split('|')[1]!
    const into = sizes.get(size) ?? { ai: 0, nature: 0 }
    into.ai += counts.ai
    into.nature += counts.nature
    sizes.set(size, into)
  }
  const classes = { ai: profile(stats, sizes, 'ai'), nature: profile(stats, sizes, 'nature') }
  const flags: SeparationFlag[] = []
  for (const feature of AUDIT_FEATURES) {
    const separation = classSeparation(stats.histogram(feature, 'all'))
    if (separation >= flagThreshold) flags.push({ feature, separation, summary: describeSeparation(feature, classes.ai, classes.nature) })
  }
  const rules: BaselineRule[] = [
    fitLookup('format', stats.histogram('format', 'train'), stats.histogram('format', 'val')),
    fitThreshold('width', stats.histogram('width', 'train'), stats.histogram('width', 'val')),
    fitThreshold('height', stats.histogram('height', 'train'), stats.histogram('height', 'val')),
    fitLookup('jpegQuality', stats.histogram('jpegQuality', 'train'), stats.histogram('jpegQuality', 'val')),
    fitThreshold('bytes', stats.histogram('bytes', 'train'), stats.histogram('bytes', 'val'), (bucket) => `${bucketLowerBytes(bucket)} B`),
    fitLookup(JOINT_RULE, stats.histogram(JOINT_RULE, 'train'), stats.histogram(JOINT_RULE, 'val')),
  ]
  const baseline = rules.reduce((best, rule) => (rule.valAccuracy > best.valAccuracy ? rule : best))
  return { generator: stats.generator, generatorName: generatorDisplayName(stats.generator), classes, flags, rules, baseline }
}

/**
 * Audits a root through its manifest: per generator × class distributions of format, size and JPEG quality, every
 * property that separates the classes, and the val accuracy of metadata-only rules fitted on train — how far a detector
 * could get by learning "JPEG vs PNG" instead of "real vs generated". Writes audit.json, audit.md and audit.svg.
 */
export async function audit(root: string, options: AuditOptions = {}): Promise<AuditReport> {
  const dataset = resolve(root)
  const dbUrl = options.dbUrl ?? defaultManifestUrl(root)
  if (options.refreshManifest !== false) {
    const built = await buildManifest(root, { dbUrl, dbAuthToken: options.dbAuthToken, progress: options.progress, signal: options.signal })
    if (built.interrupted) throw new DatasetError('bad_option', 'audit interrupted while updating the manifest; run it again to continue')
  }
  const db = await createDb(dbUrl, { authToken: options.dbAuthToken })
  const byGenerator = new Map<string, GeneratorAudit>()
  const everything = new GeneratorAudit('all')
  try {
    for await (const record of readManifestRecords(db, dataset)) {
      let stats = byGenerator.get(record.generator)
      if (!stats) {
        stats = new GeneratorAudit(record.generator)
        byGenerator.set(record.generator, stats)
      }
      stats.add(record)
      everything.add(record)
    }
  } finally {
    db.$client.close()
  }
  if (byGenerator.size === 0)
    throw new DatasetError('empty_dataset', `no images recorded for ${dataset}; is it a GenImage layout (<Generator>/{train,val}/{ai,nature})?`)
  const flagThreshold = options.flagThreshold ?? 0.5
  const generators = [...byGenerator.keys()].sort().map((name) => analyse(byGenerator.get(name)!, flagThreshold))
  if (byGenerator.size > 1) generators.push(analyse(everything, flagThreshold))
  const outDir = options.outDir ?? join(root, TOOL_FOLDER, 'audit')
  await mkdir(outDir, { recursive: true })
  const files = { json: join(outDir, 'audit.json'), table: join(outDir, 'audit.md'), svg: join(outDir, 'audit.svg') }
  const report: AuditReport = { root: dataset, generators, files }
  await writeFile(files.json, `${JSON.stringify(report, null, 2)}\n`)
  await writeFile(files.table, renderAuditTable(report))
  await writeFile(files.svg, renderAuditSvg(report))
  return report
}
