import type { AuditReport, ClassProfile } from './audit.ts'

const percent = (value: number) => `${(100 * value).toFixed(1)}%`

function shares(record: Record<string, number>, total: number, limit = 3): string {
  const entries = Object.entries(record).slice(0, limit)
  if (entries.length === 0) return '—'
  return entries.map(([value, n]) => `${value} ${Math.round((100 * n) / Math.max(1, total))}%`).join(', ')
}

function classRow(generator: string, label: string, profile: ClassProfile): string {
  return `| ${generator} | ${label} | ${profile.images} | ${shares(profile.formats, profile.images)} | ${shares(profile.topSizes, profile.images)} | ${shares(profile.jpegQualities, profile.images)} | ${profile.medianBytes} |`
}

/** The path as a shell reads it back: quoted when it holds anything but safe characters. */
const shellPath = (path: string) => (/^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`)

/**
 * What to do when the classes differ in encoding (file format or JPEG quality): a detector can learn that cue
 * instead of generation artefacts, so the audit points to the JPEG-aligned copy (`dataset debias`) and to
 * `--debias` on experiments. Empty when no generator is flagged for it.
 */
/** Generators whose classes differ in file format or JPEG quality (a cue a detector can learn instead of the generator). */
export function encodingCuedGenerators(report: Pick<AuditReport, 'generators'>): AuditReport['generators'] {
  return report.generators.filter((g) => g.flags.some((flag) => flag.feature === 'format' || flag.feature === 'jpegQuality'))
}

/** The debias command for an audited root, quoted for a POSIX shell. */
export function debiasCommand(root: string): string {
  const trimmed = root.replace(/[\\/]+$/, '')
  return `npx genimage dataset debias ${shellPath(trimmed)} ${shellPath(`${trimmed}-debiased`)}`
}

export function encodingCueAdvice(report: Pick<AuditReport, 'root' | 'generators'>): string[] {
  const cued = encodingCuedGenerators(report)
  if (cued.length === 0) return []
  return [
    '',
    '## What to do about the encoding cue',
    '',
    `The classes of ${cued.map((g) => g.generatorName).join(', ')} differ in file format or JPEG quality, so a detector can score well by`,
    'telling encodings apart rather than generated from real images. Train and compare on a JPEG-aligned copy:',
    '',
    `- \`${debiasCommand(report.root)}\` writes one (both classes JPEG q96, sizes bounded), or`,
    '- `--debias` on `npx genimage experiment run` JPEG-aligns the training images of each run (`dataset mini --debias` builds',
    '  GenImage-mini that way).',
    '',
    'Report results with and without it: the gap is how much of the score the cue carried.',
  ]
}

/** The audit as a Markdown table a person reads in a terminal or a browser. */
export function renderAuditTable(report: AuditReport): string {
  const lines = [`# Dataset audit: ${report.root}`, '', '## Distributions per generator × class', '']
  lines.push('| generator | class | images | format | most common sizes | JPEG quality | median bytes |', '|---|---|---:|---|---|---|---:|')
  for (const g of report.generators) {
    lines.push(classRow(g.generatorName, 'ai', g.classes.ai), classRow(g.generatorName, 'nature', g.classes.nature))
  }
  lines.push('', '## Properties that separate the classes (total variation distance ≥ threshold)', '')
  for (const g of report.generators) {
    if (g.flags.length === 0) lines.push(`- ${g.generatorName}: none`)
    for (const flag of g.flags)
      lines.push(`- **${g.generatorName}: ${flag.feature}** separates the classes (TV ${flag.separation.toFixed(2)}): ${flag.summary}`)
  }
  lines.push(...encodingCueAdvice(report))
  const ruleNames = report.generators[0]?.rules.map((rule) => rule.feature) ?? []
  lines.push('', '## Metadata-only baseline: rules fitted on train, accuracy on val (no pixels looked at)', '')
  lines.push(`| generator | best rule | val accuracy | chance | ${ruleNames.join(' | ')} |`, `|---|---|---:|---:|${ruleNames.map(() => '---:').join('|')}|`)
  for (const g of report.generators) {
    const cells = g.rules.map((rule) => percent(rule.valAccuracy))
    lines.push(
      `| ${g.generatorName} | ${g.baseline.description} | **${percent(g.baseline.valAccuracy)}** | ${percent(g.baseline.chance)} | ${cells.join(' | ')} |`,
    )
  }
  return `${lines.join('\n')}\n`
}

const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!)

/** A bar chart (SVG) of each metadata rule's val accuracy per generator, with chance marked. */
export function renderAuditSvg(report: AuditReport): string {
  const ruleNames = report.generators[0]?.rules.map((rule) => rule.feature) ?? []
  const colours = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#333333']
  const labelWidth = 150
  const plotWidth = 560
  const barHeight = 12
  const groupHeight = ruleNames.length * barHeight + 18
  const top = 50
  const width = labelWidth + plotWidth + 70
  const height = top + report.generators.length * groupHeight + 30 + ruleNames.length * 16
  const x = (accuracy: number) => labelWidth + accuracy * plotWidth
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${labelWidth}" y="18" font-size="14" font-weight="bold">Metadata-only val accuracy per generator (fit on train)</text>`,
  ]
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${x(tick)}" y1="${top - 8}" x2="${x(tick)}" y2="${top + report.generators.length * groupHeight}" stroke="#ddd"/>`)
    parts.push(`<text x="${x(tick)}" y="${top - 12}" text-anchor="middle" fill="#555">${tick * 100}%</text>`)
  }
  report.generators.forEach((g, gi) => {
    const y0 = top + gi * groupHeight
    parts.push(`<text x="${labelWidth - 8}" y="${y0 + groupHeight / 2}" text-anchor="end" font-weight="bold">${escapeXml(g.generatorName)}</text>`)
    g.rules.forEach((rule, ri) => {
      const y = y0 + ri * barHeight
      parts.push(
        `<rect x="${labelWidth}" y="${y}" width="${(rule.valAccuracy * plotWidth).toFixed(1)}" height="${barHeight - 2}" fill="${colours[ri % colours.length]}"><title>${escapeXml(`${rule.feature}: ${percent(rule.valAccuracy)} — ${rule.description}`)}</title></rect>`,
      )
      parts.push(`<text x="${x(rule.valAccuracy) + 4}" y="${y + barHeight - 3}" fill="#333">${percent(rule.valAccuracy)}</text>`)
    })
    const chanceX = x(g.baseline.chance)
    parts.push(`<line x1="${chanceX}" y1="${y0 - 2}" x2="${chanceX}" y2="${y0 + ruleNames.length * barHeight}" stroke="#000" stroke-dasharray="3,2"/>`)
  })
  const legendTop = top + report.generators.length * groupHeight + 14
  ruleNames.forEach((name, ri) => {
    const y = legendTop + ri * 16
    parts.push(`<rect x="${labelWidth}" y="${y - 9}" width="10" height="10" fill="${colours[ri % colours.length]}"/>`)
    parts.push(`<text x="${labelWidth + 16}" y="${y}">${escapeXml(name)}</text>`)
  })
  parts.push(`<text x="${labelWidth + 200}" y="${legendTop}">dashed line: chance (larger val class)</text>`, '</svg>')
  return `${parts.join('\n')}\n`
}
