import { access, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { type CalibrationPhoto, loadCalibrationManifest } from '@genimage/dataset-tools'
import { calibrateModelFolder, type ModelCalibrationResult, type OperatingPoint, writeCalibratedCard } from '@genimage/gpu-runner/evaluation'
import { CodedError } from '@genimage/shared'
import { TrainingDataError } from '@genimage/training/train'
import type { Command } from 'commander'
import { EXIT, exitWith } from '../exit-codes.ts'
import { decimal } from '../options.ts'

/** Stable codes of `genimage models calibrate` input errors. */
export type CalibrateErrorCode = 'model_not_found' | 'not_a_directory' | 'no_calibration_photos' | 'no_test_photos' | 'no_generated_images'

/** Bad input to `genimage models calibrate`; printed as `<code>: <message>`, exit status 2. */
export class CalibrateInputError extends CodedError<CalibrateErrorCode> {}

interface CalibrateFlags {
  photos: string
  generated?: string
  targetFpr: number
  write?: boolean
  json?: boolean
}

const isDirectory = (path: string) =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  )
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  )

/** The calibration and test photos present in a folder written by `genimage dataset photos fetch`. */
async function photosIn(dir: string): Promise<{ dataset: string; calibration: string[]; test: string[]; missing: string[] }> {
  if (!(await isDirectory(dir)))
    throw new CalibrateInputError('not_a_directory', `--photos ${dir} is not a directory (fetch it with: npx genimage dataset photos fetch ${dir})`)
  const manifestFile = join(dir, 'photos-calibration.json')
  if (!(await exists(manifestFile))) {
    throw new CalibrateInputError(
      'no_calibration_photos',
      `${dir} has no photos-calibration.json (fetch the photos with: npx genimage dataset photos fetch ${dir})`,
    )
  }
  const manifest = await loadCalibrationManifest(manifestFile).catch((error: Error) => {
    throw new CalibrateInputError('no_calibration_photos', error.message, { cause: error })
  })
  const present: CalibrationPhoto[] = []
  const missing: CalibrationPhoto[] = []
  for (const photo of manifest.photos) ((await exists(join(dir, photo.name))) ? present : missing).push(photo)
  const calibration = present.filter((p) => p.split === 'calibration').map((p) => join(dir, p.name))
  const test = present.filter((p) => p.split === 'test').map((p) => join(dir, p.name))
  if (calibration.length === 0) throw new CalibrateInputError('no_calibration_photos', `no photo of the calibration split in ${dir}`)
  if (test.length === 0) throw new CalibrateInputError('no_test_photos', `no photo of the test split in ${dir}: nothing would measure the threshold`)
  const packages = new Set(present.map((p) => p.package)).size
  const dataset = `${present.length} full-size real photographs from ${packages} Debian package(s), never used in training (photos-calibration.json)`
  return { dataset, calibration, test, missing: missing.map((p) => p.name) }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`

function printTable(result: ModelCalibrationResult): void {
  const { before, after, calibration, temperatureFit, thresholdChoice } = result
  const head = (p: OperatingPoint) => `${p.calibrated ? 'calibrated' : 'uncalibrated'} ≥ ${p.threshold.toFixed(4)}`
  console.log(`${result.model.name}@${result.model.version}: images scored as ${result.scoredAs}`)
  const nll = temperatureFit
    ? ` (class-balanced NLL ${temperatureFit.nllAtOne.toFixed(4)} at 1 → ${temperatureFit.nll.toFixed(4)})`
    : ' (no generated images: not fitted)'
  console.log(
    `fitted on ${calibration.fittedOn.count} images: temperature ${calibration.temperature.toFixed(4)}${nll}, threshold ${calibration.threshold.toFixed(4)}`,
  )
  const fitLine = Object.entries(thresholdChoice.falsePositives).map(([e, n]) => `${e} ${n} (≤ ${thresholdChoice.allowed[e]})`)
  console.log(
    `calibration photos called ai at the threshold: ${fitLine.join(', ')}; target ≤ ${pct(result.targetFpr)}: ${thresholdChoice.met ? 'met' : 'NOT met'}`,
  )
  console.log('')
  console.log(`held-out test photos, false positives [Wilson 95% upper bound]`)
  console.log(`${'encoding'.padEnd(10)}  ${`before (${head(before)})`.padEnd(30)}  after (${head(after)})`)
  for (const [i, b] of before.realPhotos.entries()) {
    const a = after.realPhotos[i]!
    const cell = (r: typeof b) => `${r.falsePositives}/${r.count} ${pct(r.rate)} [≤ ${pct(r.upper95)}]`
    console.log(`${b.encoding.padEnd(10)}  ${cell(b).padEnd(30)}  ${cell(a)}`)
  }
  if (before.generated && after.generated) {
    console.log('')
    console.log(`GenImage-mini val, generated images caught (odd-numbered half, ${after.generated.count} images, not used to fit)`)
    for (const generator of Object.keys(after.generated.perGenerator)) {
      console.log(
        `${generator.padEnd(12)}  ${pct(before.generated.perGenerator[generator] ?? 0).padEnd(8)}  ${pct(after.generated.perGenerator[generator] ?? 0)}`,
      )
    }
    console.log(`${'all'.padEnd(12)}  ${pct(before.generated.accuracy).padEnd(8)}  ${pct(after.generated.accuracy)}`)
    if (before.natureCrops && after.natureCrops) {
      console.log(
        `GenImage-mini val nature crops answered real (${after.natureCrops.count}): ${pct(before.natureCrops.accuracy)} → ${pct(after.natureCrops.accuracy)}`,
      )
    }
  }
}

/** `genimage models calibrate <model-folder> --photos <dir>`: fit and measure a calibration on real photographs. */
export function registerModelCalibrateCommand(models: Command): void {
  models
    .command('calibrate')
    .description(
      'fit a temperature and a threshold on full-size real photographs (as shipped, PNG, JPEG q75/85/95) and GenImage-mini val images, ' +
        'then report false positives per encoding on held-out photos and generated-side accuracy, before and after',
    )
    .argument('<model-folder>', 'model folder (card.json + model.onnx)')
    .requiredOption('--photos <dir>', 'photos fetched by `genimage dataset photos fetch <dir>` (calibration and test split)')
    .option('--generated <root>', 'GenImage-mini root: the val split of every generator in it is the generated side')
    .option('--target-fpr <fraction>', 'highest false-positive rate on the calibration photos, in every encoding (0–0.5)', decimal({ min: 0, max: 0.5 }), 0.05)
    .option('--write', 'record the calibration, the real-photo false positives and the generated-side accuracy in card.json')
    .option('--json', 'print the result as JSON')
    .action(async (folder: string, flags: CalibrateFlags) => {
      try {
        const modelDir = resolve(folder)
        if (!(await exists(join(modelDir, 'card.json')))) throw new CalibrateInputError('model_not_found', `no model folder (card.json) at ${folder}`)
        const photos = await photosIn(resolve(flags.photos))
        const progress = (line: string) => process.stderr.write(`calibrate: ${line}\n`)
        if (photos.missing.length > 0) progress(`${photos.missing.length} listed photo(s) missing from ${flags.photos}: ${photos.missing.join(', ')}`)
        if (flags.generated !== undefined && !(await isDirectory(resolve(flags.generated)))) {
          throw new CalibrateInputError('not_a_directory', `--generated ${flags.generated} is not a directory`)
        }
        const result = await calibrateModelFolder(modelDir, {
          photos,
          generatedRoot: flags.generated === undefined ? undefined : resolve(flags.generated),
          targetFpr: flags.targetFpr,
          progress,
        }).catch((error: Error) => {
          if (error instanceof TrainingDataError) throw new CalibrateInputError('no_generated_images', `--generated: ${error.message}`, { cause: error })
          throw error
        })
        if (flags.write) await writeCalibratedCard(modelDir, result)
        if (flags.json) console.log(JSON.stringify({ ...result, written: flags.write === true }, null, 2))
        else {
          printTable(result)
          console.log(flags.write ? `\nwrote the calibration into ${join(folder, 'card.json')}` : '\nnot written: add --write to record it in the card')
        }
        if (!result.thresholdChoice.met) exitWith(EXIT.failed)
      } catch (error) {
        if (!(error instanceof CalibrateInputError)) throw error
        if (flags.json) console.log(JSON.stringify({ error: { code: error.code, message: error.message } }, null, 2))
        else console.error(`genimage models calibrate: ${error.code}: ${error.message}`)
        exitWith(EXIT.usage)
      }
    })
}
