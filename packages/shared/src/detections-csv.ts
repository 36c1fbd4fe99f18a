import type { DetectionSummary } from './contracts/detections.ts'

/** Columns of a detections CSV export (`genimage detections export --csv`, the console), in order: what a detection recorded, never the image. */
export const DETECTIONS_CSV_COLUMNS = [
  'time',
  'model',
  'model_version',
  'verdict',
  'ai_generated',
  'threshold',
  'latency_ms',
  'key_name',
  'key_id',
  'image_bytes',
  'image_sha256',
  'request_id',
  'correlation_id',
  'detection_id',
  'runner',
] as const

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; text that a spreadsheet would run
 * as a formula (`=`, `+`, `-`, `@`, tab, CR first) is prefixed with `'`, since key names and ids are free text.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return ''
  let text = String(value)
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** One detection as a CSV line (columns as {@link DETECTIONS_CSV_COLUMNS}, no line end); absent values are empty. */
export function detectionCsvRow(d: DetectionSummary): string {
  return [
    d.time,
    d.model.name,
    d.model.version,
    d.verdict,
    d.ai_generated,
    d.threshold,
    d.latency_ms,
    d.key?.name,
    d.key?.id,
    d.image_bytes,
    d.image_sha256,
    d.request_id,
    d.correlation_id,
    d.id,
    d.runner,
  ]
    .map(csvField)
    .join(',')
}

/** The CSV header line (no line end). */
export const DETECTIONS_CSV_HEADER = DETECTIONS_CSV_COLUMNS.join(',')

/** The rows as CSV text with a header line, CRLF line ends (RFC 4180). */
export function detectionsCsv(rows: readonly DetectionSummary[]): string {
  return `${[DETECTIONS_CSV_HEADER, ...rows.map(detectionCsvRow)].join('\r\n')}\r\n`
}
