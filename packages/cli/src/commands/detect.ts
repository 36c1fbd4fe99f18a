import { type Command, Option } from 'commander'
import { type ApiTarget, apiOptions, resolveApiTarget } from '../api-target.ts'
import type { ImageResult } from '../detect/detect-batches.ts'
import type { PathProblem } from '../detect/image-files.ts'
import { EXIT, exitWith } from '../exit-codes.ts'
import { integer } from '../options.ts'

interface DetectFlags {
  api?: string
  apiKey?: string
  model?: string
  format: 'table' | 'json' | 'csv'
  json?: boolean
  csv?: boolean
  batchSize: number
  progress: boolean
}

const CSV_COLUMNS = [
  'file',
  'verdict',
  'ai_generated',
  'calibrated_probability',
  'threshold',
  'model',
  'out_of_distribution',
  'detection_id',
  'error_code',
  'error',
]

/** `genimage detect <paths…>`: score image files and folders through the edge's `POST /v1/detect`. */
export function registerDetectCommands(program: Command): void {
  apiOptions(
    program
      .command('detect')
      .description('score image files or folders through the detect API (16 images per request) and print one verdict per image')
      .argument('<paths...>', 'image files, or folders searched recursively for .jpg .jpeg .png .webp .gif .avif .tif .bmp files')
      .option('--model <name>', "model to ask (default: the edge's default model)")
      .option('--json', 'print one JSON document: every result, every error and the summary')
      .option('--csv', 'print CSV: one row per image (errors included), header first')
      .addOption(new Option('--batch-size <n>', 'images per request (the edge takes at most 16)').argParser(integer({ min: 1, max: 16 })).default(16))
      .option('--no-progress', 'no progress on stderr'),
    'detect',
  ).action(async (paths: string[], flags: DetectFlags) => {
    if (flags.json && flags.csv) throw new Error('choose one of --json and --csv')
    const format = flags.json ? 'json' : flags.csv ? 'csv' : 'table'
    const [{ collectImageFiles }, { detectInBatches, DetectRunError }, { createProgress }] = await Promise.all([
      import('../detect/image-files.ts'),
      import('../detect/detect-batches.ts'),
      import('@genimage/dataset-tools/progress'),
    ])
    const target = await resolveApiTarget(flags)
    const { files, problems } = await collectImageFiles(paths)
    const results: ImageResult[] = []
    const progress = createProgress({ enabled: flags.progress })
    if (format === 'csv') console.log(CSV_COLUMNS.join(','))
    const print = (result: ImageResult) => {
      if (format === 'csv') console.log(csvRow(result))
      else if (format === 'table') console.log(tableRow(result))
    }
    const controller = new AbortController()
    const onInterrupt = () => controller.abort()
    process.once('SIGINT', onInterrupt)
    progress.start(files.length, 'detect')
    try {
      await detectInBatches(files, {
        target,
        model: flags.model,
        batchSize: flags.batchSize,
        signal: controller.signal,
        onResult: (result) => {
          results.push(result)
          progress.increment()
          print(result)
        },
      })
    } catch (error) {
      if (!(error instanceof DetectRunError)) throw error
      progress.stop()
      throw new Error(`${error.code}: ${error.message}`)
    } finally {
      process.off('SIGINT', onInterrupt)
    }
    progress.stop()
    const summary = summarize(results, problems, files.length, target)
    if (format === 'json') console.log(JSON.stringify({ api: target.baseUrl, summary, results: results.map(jsonResult), problems }, null, 2))
    for (const problem of problems) console.error(`${problem.path}: ${problem.code}: ${problem.message}`)
    console.error(summaryLine(summary))
    if (controller.signal.aborted) exitWith(EXIT.interrupted)
    else if (summary.errors > 0 || problems.length > 0) exitWith(EXIT.failed)
  })
}

interface DetectSummary {
  images: number
  scored: number
  ai: number
  real: number
  errors: number
  /** Errors per stable code, e.g. `{ unsupported_media_type: 2 }`. */
  errorCodes: Record<string, number>
  models: string[]
  api: string
}

function summarize(results: readonly ImageResult[], problems: readonly PathProblem[], images: number, target: ApiTarget): DetectSummary {
  const errorCodes: Record<string, number> = {}
  for (const r of results) if (!r.ok) errorCodes[r.code] = (errorCodes[r.code] ?? 0) + 1
  for (const p of problems) errorCodes[p.code] = (errorCodes[p.code] ?? 0) + 1
  const scored = results.filter((r) => r.ok)
  return {
    images,
    scored: scored.length,
    ai: scored.filter((r) => r.image.verdict === 'ai').length,
    real: scored.filter((r) => r.image.verdict === 'real').length,
    errors: results.length - scored.length,
    errorCodes,
    models: [...new Set(scored.map((r) => `${r.model.name}@${r.model.version}`))],
    api: target.baseUrl,
  }
}

function summaryLine(s: DetectSummary): string {
  const codes = Object.entries(s.errorCodes)
    .map(([code, n]) => `${n} ${code}`)
    .join(', ')
  const by = s.models.length ? ` by ${s.models.join(', ')}` : ''
  return `scored ${s.scored} of ${s.images} image(s)${by} at ${s.api}: ${s.ai} ai, ${s.real} real${codes ? `; not scored: ${codes}` : ''}`
}

const probability = (value: number | null) => (value === null ? '' : value.toFixed(4))

function tableRow(r: ImageResult): string {
  if (!r.ok) return `error    ${r.code.padEnd(8)}  ${r.file.path}  (${r.message})`
  const p = r.image.calibrated_probability ?? r.image.ai_generated
  const odd = r.image.out_of_distribution.flagged ? '  out of distribution' : ''
  return `${r.image.verdict.padEnd(7)}  P(ai) ${p.toFixed(3)}${r.image.calibrated ? '' : ' (uncalibrated)'}  ${r.file.path}${odd}`
}

function csvRow(r: ImageResult): string {
  const cells = r.ok
    ? [
        r.file.path,
        r.image.verdict,
        probability(r.image.ai_generated),
        probability(r.image.calibrated_probability),
        String(r.threshold),
        `${r.model.name}@${r.model.version}`,
        String(r.image.out_of_distribution.flagged),
        r.image.detection_id,
        '',
        '',
      ]
    : [r.file.path, '', '', '', '', '', '', '', r.code, r.message]
  return cells.map(csvCell).join(',')
}

const csvCell = (value: string) => (/[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value)

function jsonResult(r: ImageResult) {
  if (!r.ok) return { file: r.file.path, error: { code: r.code, message: r.message } }
  return { file: r.file.path, model: r.model, threshold: r.threshold, request_id: r.requestId, ...r.image }
}
