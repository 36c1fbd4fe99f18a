import { type Command, Option } from 'commander'
import { type ApiTarget, apiOptions, hintCommand, resolveApiTarget } from '../api-target.ts'
import type { DetectionsFilters } from '../detections/detections-client.ts'
import { integer, OptionValueError } from '../options.ts'
import type { DetectionSummary } from '@genimage/shared'

interface FilterFlags {
  api?: string
  apiKey?: string
  model?: string
  verdict?: 'ai' | 'real'
  since?: string
  until?: string
}

interface ListFlags extends FilterFlags {
  limit: number
  cursor?: string
  json?: boolean
}

interface ExportFlags extends FilterFlags {
  pageSize: number
  csv?: boolean
  jsonl?: boolean
  out?: string
  progress: boolean
}

const RELATIVE = /^(\d{1,6})([mhd])$/
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/**
 * A time option as the API takes it (ISO 8601 UTC): an ISO time with a zone, a date (`2026-12-01`, midnight UTC), or
 * a span back from now (`90m`, `24h`, `7d`), resolved once so that a printed hint names the same instant.
 */
export function parseTimeOption(text: string, now = Date.now()): string {
  const relative = RELATIVE.exec(text.trim())
  if (relative) return new Date(now - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS]).toISOString()
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text
  const zoned = /(Z|[+-]\d{2}:\d{2})$/i.test(date)
  const ms = Date.parse(date)
  if (!zoned || Number.isNaN(ms))
    throw new OptionValueError('an ISO time with a zone (2026-12-01T09:00:00Z), a date (2026-12-01) or a span back from now (90m, 24h, 7d)')
  return new Date(ms).toISOString()
}

/** `ai`, `real`, or `nature` (the models' label for real photographs). */
function parseVerdict(text: string): 'ai' | 'real' {
  if (text === 'ai' || text === 'real') return text
  if (text === 'nature') return 'real'
  throw new OptionValueError('ai, real or nature')
}

function filterOptions(command: Command): Command {
  return command
    .option('--model <name>', 'only detections by this model')
    .option('--verdict <verdict>', 'only this verdict: ai, or real (also written nature)', parseVerdict)
    .option('--since <time>', 'from this time on (ISO time, date, or 90m/24h/7d ago)', (text) => parseTimeOption(text))
    .option('--until <time>', 'before this time (same forms as --since)', (text) => parseTimeOption(text))
}

const filtersOf = (flags: FilterFlags): DetectionsFilters => ({ model: flags.model, verdict: flags.verdict, since: flags.since, until: flags.until })

/** A word as a shell reads it back: quoted when it holds anything but safe characters. */
const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)

/** The command that lists the next page: same filters and limit, the cursor, and `--api` where needed. */
export function nextPageHint(target: Pick<ApiTarget, 'baseUrl'>, flags: ListFlags, cursor: string): string {
  const args = ['detections', 'list']
  for (const [name, value] of Object.entries({ ...filtersOf(flags), limit: flags.limit === 50 ? undefined : String(flags.limit), cursor })) {
    if (value !== undefined) args.push(`--${name}`, shellWord(value))
  }
  if (flags.json) args.push('--json')
  return hintCommand(target, args.join(' '))
}

/** One detection as a line of `detections list`: time, verdict, score, model, key, image hash and id. */
export function detectionLine(d: DetectionSummary): string {
  const key = d.key ? (d.key.name ?? d.key.id) : 'anonymous'
  return `${d.time}  ${d.verdict.padEnd(4)}  P(ai) ${d.ai_generated.toFixed(3)}  ${d.model.name}@${d.model.version}  key ${key}  sha256 ${d.image_sha256.slice(0, 12)}  ${d.id}`
}

/** `genimage detections list|export`: past detections from the edge's `GET /v1/detections`, never images. */
export function registerDetectionsCommands(program: Command): void {
  const detections = program.command('detections').description('past detections recorded by the edge (GET /v1/detections): list them or export them all')

  apiOptions(filterOptions(detections.command('list').description('one page of past detections, newest first, and the command for the next page')), 'detect')
    .addOption(new Option('--limit <n>', 'detections per page (at most 500)').argParser(integer({ min: 1, max: 500 })).default(50))
    .option('--cursor <cursor>', 'the page after the one whose hint printed this cursor')
    .option('--json', 'print the page as the API answers it: { detections, next_cursor }')
    .action(async (flags: ListFlags) => {
      const { fetchDetectionsPage } = await import('../detections/detections-client.ts')
      const target = await resolveApiTarget(flags)
      const page = await fetchDetectionsPage(target, filtersOf(flags), flags.limit, flags.cursor)
      if (flags.json) console.log(JSON.stringify(page, null, 2))
      else for (const d of page.detections) console.log(detectionLine(d))
      const more = page.next_cursor ? `; more: ${nextPageHint(target, flags, page.next_cursor)}` : ''
      console.error(`${page.detections.length} detection(s) from ${target.baseUrl}${more}`)
    })

  apiOptions(filterOptions(detections.command('export').description('every matching detection, newest first, as CSV or JSON lines (all pages)')), 'detect')
    .option('--csv', 'CSV with a header row (the default)')
    .option('--jsonl', 'one JSON object per line, as the API lists them')
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .addOption(new Option('--page-size <n>', 'detections per API call (at most 500)').argParser(integer({ min: 1, max: 500 })).default(500))
    .option('--no-progress', 'no progress on stderr')
    .action(async (flags: ExportFlags) => {
      if (flags.csv && flags.jsonl) throw new OptionValueError('one of --csv and --jsonl')
      const [{ forEachDetectionsPage }, { DETECTIONS_CSV_HEADER, detectionCsvRow }, { createProgress }, { open }] = await Promise.all([
        import('../detections/detections-client.ts'),
        import('@genimage/shared'),
        import('@genimage/dataset-tools/progress'),
        import('node:fs/promises'),
      ])
      const target = await resolveApiTarget(flags)
      // CSV lines end in CRLF (RFC 4180, what spreadsheets expect); JSON lines in LF.
      const eol = flags.jsonl ? '\n' : '\r\n'
      const file = flags.out ? await open(flags.out, 'w') : undefined
      const write = async (text: string) => {
        if (file) await file.write(text)
        else if (!process.stdout.write(text)) await new Promise((done) => process.stdout.once('drain', done))
      }
      const progress = createProgress({ enabled: flags.progress })
      let exported = 0
      try {
        if (!flags.jsonl) await write(`${DETECTIONS_CSV_HEADER}${eol}`)
        // The total is unknown until the last page: it is shown as what arrived plus one page while more follow.
        progress.start(0, 'export detections')
        await forEachDetectionsPage(
          target,
          filtersOf(flags),
          async (page) => {
            const lines = page.detections.map((d) => (flags.jsonl ? JSON.stringify(d) : detectionCsvRow(d)))
            if (lines.length > 0) await write(`${lines.join(eol)}${eol}`)
            exported += lines.length
            progress.setTotal(exported + (page.next_cursor ? page.detections.length : 0))
            progress.increment(lines.length)
          },
          { pageSize: flags.pageSize },
        )
      } finally {
        progress.stop()
        await file?.close()
      }
      console.error(`exported ${exported} detection(s) from ${target.baseUrl}${flags.out ? ` to ${flags.out}` : ''}`)
    })
}
