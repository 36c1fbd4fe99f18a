import { resolve } from 'node:path'
import {
  buildMini,
  DEFAULT_FAMILY_STEPS,
  MINI_FAMILIES,
  MINI_GENERATOR_FAMILY,
  MINI_GENERATOR_NAMES,
  type MiniFamily,
  type MiniGeneratorName,
  type MiniProgress,
} from '@genimage/dataset-tools'
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
  families?: string
  autoencoderSteps?: string
  retrainGenerators?: boolean
}

const PHASE_LABELS: Record<MiniProgress['phase'], string> = {
  photos: 'decoding photos',
  autoencoder: 'training autoencoder',
  training: 'training',
  images: 'writing images',
}

const familyList = MINI_FAMILIES.map((f) => `${f} (${MINI_GENERATOR_NAMES.filter((g) => MINI_GENERATOR_FAMILY[g] === f).join(', ')})`).join('; ')

/**
 * `genimage dataset mini <out>`: builds GenImage-mini (real photo crops vs. generators of six families).
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
    .option('--families <list>', `only generators of these families (comma-separated): ${familyList}`)
    .option('--autoencoder-steps <n>', 'AE-decoder training steps (default 360, about 2 minutes on one core)')
    .option(
      '--retrain-generators',
      `train the autoencoder and the diffusion and GAN networks again instead of using the shipped or cached weights (steps: ${Object.entries(
        DEFAULT_FAMILY_STEPS,
      )
        .map(([f, n]) => `${f} ${n}`)
        .join(', ')})`,
    )
    .option('--json', 'print mini.json (plus written/skipped counts) on stdout')
    .option('--no-progress', 'no progress bar')
    .action(async (out: string, opts: MiniOptions) =>
      runDatasetVerb(opts, async ({ progress, signal }) => {
        let phase: string | undefined
        let shown = 0
        const onProgress = (event: MiniProgress) => {
          const label = event.phase === 'images' || event.phase === 'training' ? `${PHASE_LABELS[event.phase]} (${event.generator})` : PHASE_LABELS[event.phase]
          const bar = event.phase === 'training' ? `training ${event.generator}` : event.phase
          if (bar !== phase) {
            progress.stop()
            progress.start(event.total, label)
            phase = bar
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
          families: optionValue('--families', opts.families, commaList) as MiniFamily[] | undefined,
          autoencoderSteps: optionValue('--autoencoder-steps', opts.autoencoderSteps, integer()),
          retrainGenerators: opts.retrainGenerators ?? false,
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
          for (const [family, network] of Object.entries(manifest.networks)) {
            const how = network.source === 'trained' ? `trained ${network.plan.steps} steps in ${network.trainSeconds}s` : `${network.source} weights`
            summary.push(`${family}: ${how}, sha256 ${network.weightsSha256.slice(0, 12)}`)
          }
          summary.push(`tfjs backend: ${manifest.backend.tfjs}; took ${manifest.timings.totalSeconds}s; record: ${resolve(out, 'mini.json')}`)
        }
        return { result: { ...manifest, written: result.written, skipped: result.skipped }, summary, ok: true, interrupted: result.interrupted }
      }),
    )
}
