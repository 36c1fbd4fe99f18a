import { resolve } from 'node:path'
import { buildMini, MINI_GENERATOR_NAMES, type MiniGeneratorName, type MiniProgress } from '@genimage/dataset-tools'
import type { Command } from 'commander'
import { commaList, integer } from '../options.ts'
import { optionValue, runDatasetVerb, type CommonDatasetOptions } from './dataset-run.ts'

interface MiniOptions extends CommonDatasetOptions {
  photos?: string
  seed: string
  perClassTrain: string
  perClassVal: string
  size: string
  debias?: boolean
  generators?: string
  autoencoderSteps?: string
}

const PHASE_LABELS: Record<MiniProgress['phase'], string> = {
  photos: 'decoding photos',
  autoencoder: 'training autoencoder',
  images: 'writing images',
}

/**
 * `genimage dataset mini <out>`: builds GenImage-mini (real photo crops vs. four model-made generators).
 * Register it on the `dataset` command group: `registerMiniCommand(datasetCommand)`.
 */
export function registerMiniCommand(dataset: Command): Command {
  return dataset
    .command('mini')
    .description(
      `build GenImage-mini in GenImage's layout: nature = crops of real photos (JPEG q96), ai = ${MINI_GENERATOR_NAMES.join(', ')} (PNG); train and val crop disjoint photos; deterministic per seed; re-run to continue`,
    )
    .argument('<out>', 'folder to build into (created if missing)')
    .option('--photos <dir>', 'crop your own photos instead of the ones shipped with dataset-tools')
    .option('--seed <n>', 'same seed and photos give byte-identical images', '1')
    .option('--per-class-train <n>', 'train images per class per generator', '500')
    .option('--per-class-val <n>', 'val images per class per generator', '100')
    .option('--size <px>', 'image side in pixels (multiple of 4)', '128')
    .option('--debias', 'save ai images as JPEG q96 too, so file format cannot separate the classes')
    .option('--generators <list>', `only these generators (comma-separated): ${MINI_GENERATOR_NAMES.join(',')}`)
    .option('--autoencoder-steps <n>', 'AE-decoder training steps (default 360, about 2 minutes on one core)')
    .option('--json', 'print mini.json (plus written/skipped counts) on stdout')
    .option('--no-progress', 'no progress bar')
    .action(async (out: string, opts: MiniOptions) =>
      runDatasetVerb(opts, async ({ progress, signal }) => {
        let phase: string | undefined
        let shown = 0
        const onProgress = (event: MiniProgress) => {
          const label = event.phase === 'images' ? `${PHASE_LABELS.images} (${event.generator})` : PHASE_LABELS[event.phase]
          if (event.phase !== phase) {
            progress.stop()
            progress.start(event.total, label)
            phase = event.phase
            shown = 0
          }
          if (event.done > shown) progress.increment(event.done - shown)
          shown = event.done
        }
        const result = await buildMini(resolve(out), {
          photos: opts.photos ? resolve(opts.photos) : undefined,
          seed: optionValue('--seed', opts.seed, integer()),
          perClassTrain: optionValue('--per-class-train', opts.perClassTrain, integer()),
          perClassVal: optionValue('--per-class-val', opts.perClassVal, integer()),
          size: optionValue('--size', opts.size, integer()),
          debias: opts.debias ?? false,
          generators: optionValue('--generators', opts.generators, commaList) as MiniGeneratorName[] | undefined,
          autoencoderSteps: optionValue('--autoencoder-steps', opts.autoencoderSteps, integer()),
          onProgress,
          signal,
        })
        progress.stop()
        const summary = [`GenImage-mini → ${resolve(out)}: ${result.written} images written, ${result.skipped} already there`]
        const manifest = result.manifest
        if (manifest) {
          summary.push(
            `generators: ${manifest.generators.map((g) => `${g.name} (${g.kind})`).join(', ')}`,
            `per generator: train ${manifest.perClass.train} + val ${manifest.perClass.val} per class, ${manifest.size}×${manifest.size}; ai ${manifest.formats.ai}, nature ${manifest.formats.nature}`,
            `photos: ${manifest.photos.train.length} train, ${manifest.photos.val.length} val (disjoint) from ${manifest.photos.dir}`,
          )
          if (manifest.autoencoder) {
            const ae = manifest.autoencoder
            summary.push(
              `autoencoder: ${ae.cached ? 'reused cached weights' : `trained ${ae.plan.steps} steps in ${ae.trainSeconds}s`}, final MSE ${ae.finalLoss}`,
            )
          }
          summary.push(`tfjs backend: ${manifest.backend.tfjs}; took ${manifest.timings.totalSeconds}s; record: ${resolve(out, 'mini.json')}`)
        }
        return { result: { ...manifest, written: result.written, skipped: result.skipped }, summary, ok: true, interrupted: result.interrupted }
      }),
    )
}
