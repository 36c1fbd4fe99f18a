import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ModelCard } from '@genimage/shared'
import { CALIBRATION_METRIC_SPLIT, type ModelCalibrationResult } from './calibrate-model.ts'

/** Said of every other metric once a calibration moves the threshold: those were measured at 0.5. */
const AT_HALF = 'verdict at 0.5 on the uncalibrated probability, not at the calibrated threshold'

/**
 * Records a calibration in `<modelDir>/card.json`: `calibration`, `realPhotoFalsePositives` and the generated-side
 * accuracy at the new threshold and at 0.5 (in `metrics`, replacing those of an earlier calibration); the other
 * metrics are labelled as measured at 0.5, which the edge no longer answers with. Every other field is kept; the
 * model file is not touched, so the card's sha256 still holds. Written atomically.
 */
export async function writeCalibratedCard(modelDir: string, result: ModelCalibrationResult): Promise<ModelCard> {
  const file = join(modelDir, 'card.json')
  const raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
  const earlier = Array.isArray(raw.metrics) ? (raw.metrics as { split?: unknown }[]) : []
  const metrics = [
    ...earlier
      .filter((m) => !(typeof m.split === 'string' && m.split.startsWith(CALIBRATION_METRIC_SPLIT)))
      .map((m) => (typeof m.split === 'string' && !m.split.includes('threshold') ? { ...m, split: `${m.split}; ${AT_HALF}` } : m)),
    ...result.generatedMetrics,
  ]
  const updated = { ...raw, metrics, calibration: result.calibration, realPhotoFalsePositives: result.realPhotoFalsePositives }
  const card = ModelCard.parse(updated)
  const temporary = `${file}.${process.pid}.tmp`
  await writeFile(temporary, `${JSON.stringify(updated, null, 2)}\n`)
  await rename(temporary, file)
  return card
}
