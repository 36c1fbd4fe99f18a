import type { ExperimentDetail } from '../contracts/index.ts'
import { describeDegradation, isGenImageDataset, paperGeneratorName } from '../genimage/index.ts'

/** Cells with fewer test images than this get a note on their interval width. */
const SMALL_TEST_SET = 100

/** A cell whose AUC or accuracy is under chance, named for the note. */
interface BelowChance {
  where: string
  accuracy: number
  rocAuc: number | null
}

const pct = (x: number) => (100 * x).toFixed(1)

/**
 * "How to read this report": the caveats that apply to this experiment, each in a sentence or two — cells below
 * chance (an inverted cue, not a weak one), training images not JPEG-aligned (the format may carry the accuracy),
 * a dataset that is not GenImage, one seed only, small test sets. Empty when none applies.
 */
export function readingNotes(experiment: ExperimentDetail): string[] {
  const { spec } = experiment
  const label = (g: string) => paperGeneratorName(g) ?? g
  const notes: string[] = []

  const below: BelowChance[] = experiment.runDetails.flatMap((run) =>
    run.metrics
      .filter((m) => m.accuracy < 0.5 || (m.rocAuc !== null && m.rocAuc < 0.5))
      .map((m) => ({
        where: `${run.model} (trained ${run.trainOn.map(label).join('+')}, seed ${run.seed}) on ${label(m.testSet)}${m.degradation === 'none' ? '' : `, ${describeDegradation(m.degradation)}`}`,
        accuracy: m.accuracy,
        rocAuc: m.rocAuc,
      })),
  )
  if (below.length > 0) {
    const shown = below
      .slice(0, 6)
      .map((b) => `${b.where}: accuracy ${pct(b.accuracy)}%${b.rocAuc === null ? '' : `, AUC ${pct(b.rocAuc)}`}`)
      .join('; ')
    notes.push(
      `**${below.length} cell(s) are below chance** (accuracy or ROC-AUC under 50): ${shown}${below.length > 6 ? '; …' : ''}. ` +
        "An AUC under 50 means the model ranks that set's generated images as *more* real than its real ones: it learned a cue that " +
        'points the wrong way there (a format, size or colour habit of the training generator), not a weaker version of the right one. ' +
        'Read the accuracy and the average of such a column with that in mind.',
    )
  }
  if (!spec.debiasJpegQuality) {
    notes.push(
      '**Training images were not JPEG-aligned.** In GenImage (and GenImage-mini) the generated images are PNG and the real ones ' +
        'JPEG, so a detector can score well by telling the file formats apart (Grommelt et al. 2024, "Fake or JPEG?"). ' +
        'Run the same experiment again with `--debias` and compare: the accuracy that disappears was carried by the format. ' +
        '`genimage dataset audit` shows how well the format alone separates the classes of each generator.',
    )
  }
  if (!isGenImageDataset(spec.generators)) {
    notes.push(
      `**The data is not GenImage** (${spec.generators.map(label).join(', ')}): the numbers describe these generators only; ` +
        "they say nothing about Midjourney, Stable Diffusion or the paper's other generators, and are not comparable with its tables.",
    )
  }
  if (spec.seeds.length === 1) {
    notes.push(
      '**One seed per run.** The 95% intervals cover the sampling of test images only, not training noise: differences of a few points ' +
        'between models or settings may change with another seed (`--seeds 0,1,2`).',
    )
  }
  const smallest = Math.min(...experiment.runDetails.flatMap((r) => r.metrics.map((m) => m.count)))
  if (Number.isFinite(smallest) && smallest < SMALL_TEST_SET) {
    notes.push(
      `**Small test sets:** the smallest cell has ${smallest} images; its 95% interval is wide (see the detail table), so gaps smaller ` +
        'than the intervals are not evidence.',
    )
  }
  if (notes.length === 0) return []
  return ['## How to read this report', '', ...notes.flatMap((note) => [`- ${note}`]), '']
}
