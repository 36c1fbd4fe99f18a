import { resolve } from 'node:path'
import { loadModelRepository } from '@genimage/gpu-runner'
import { commandLine } from '@genimage/shared'
import { writeHandmadeModel } from '@genimage/training/export'
import type { Command } from 'commander'
import { EXIT, exitWith } from '../exit-codes.ts'
import { positiveInteger } from '../options.ts'
import { registerModelCalibrateCommand } from './models-calibrate.ts'
import { registerModelImportCommand } from './models-import.ts'

/** `genimage models …`: write, import and inspect model folders the runner serves. */
export function registerModelCommands(program: Command): void {
  const models = program.command('models').description('model folders (model.onnx + card.json) the runner serves')
  registerModelImportCommand(models)
  registerModelCalibrateCommand(models)

  models
    .command('handmade')
    .description('write the handmade NPR residual statistic (untrained, accuracy unmeasured) as a servable model folder')
    .option('--out <dir>', 'model folder to write', 'models/npr-residual-handmade')
    .option('--size <pixels>', 'square input size', positiveInteger, 64)
    .action(async (opts: { out: string; size: number }) => {
      const written = await writeHandmadeModel(resolve(opts.out), {
        size: opts.size,
        command: commandLine(['npx', 'genimage', 'models', 'handmade', '--out', opts.out, '--size', String(opts.size)]),
      })
      console.log(`wrote ${written.dir} (${written.card.name}@${written.card.version}): a fixed statistic, not a trained detector`)
    })

  models
    .command('list')
    .description('validate and list the model folders in a model directory')
    .option('--dir <dir>', 'model directory', process.env.MODEL_DIR ?? 'models')
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; json?: boolean }) => {
      const repository = await loadModelRepository(resolve(opts.dir), { providers: ['cpu'], maxPixels: 1 })
      const rows = [...repository.models.values()].map((m) => ({
        name: m.card.name,
        version: m.card.version,
        architecture: m.card.architecture,
        provenance: m.card.provenance.kind,
        accuracy: m.card.metrics[0]?.accuracy ?? null,
        default: m.card.default === true,
        trainedOn: m.card.trainedOn ?? null,
        realPhotoFalsePositives: m.card.realPhotoFalsePositives ?? null,
        dir: m.dir,
      }))
      if (opts.json) {
        console.log(JSON.stringify({ models: rows, problems: repository.problems }, null, 2))
        return
      }
      if (rows.length === 0) console.log(`no models in ${opts.dir}`)
      for (const r of rows) {
        const acc = r.accuracy === null ? 'accuracy not measured' : `val accuracy ${(r.accuracy * 100).toFixed(1)}%`
        console.log(`${r.name}@${r.version}${r.default ? ' (default)' : ''}  ${r.architecture}  ${r.provenance}  ${acc}  ${r.dir}`)
        console.log(`  trained on: ${r.trainedOn ?? 'not recorded in the card'}`)
        const fp = r.realPhotoFalsePositives
        const rates = fp?.encodings.map((e) => `${e.encoding} ${e.falsePositives}/${e.count}`).join(', ')
        console.log(fp ? `  real photos called ai at ${fp.threshold.toFixed(4)}: ${rates} (${fp.split})` : '  real-photo false positives: never measured')
      }
      for (const p of repository.problems) console.log(`refused ${p.dir}: ${p.reason}`)
      if (repository.problems.length > 0) exitWith(EXIT.failed)
    })
}
