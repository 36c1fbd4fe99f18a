import type { DatasetSummary } from '@genimage/shared'

/** The dataset `genimage start` builds for a first experiment; offered first when it is ready. */
export const TINY_DATASET_NAME = 'genimage-mini-tiny'
/** The picker's value for "type a path instead". */
export const OTHER_DATASET = '__other'

/**
 * Which listed dataset the form starts with: the tiny GenImage-mini when it is ready, else the first ready one,
 * else none (a dataset still building is never picked: the form would refuse it).
 */
export function preferredDataset(datasets: readonly DatasetSummary[]): DatasetSummary | undefined {
  const ready = datasets.filter((d) => d.state === 'ready' && d.generators.length > 0)
  return ready.find((d) => d.name === TINY_DATASET_NAME) ?? ready[0]
}

/** The picker's words for one dataset: "genimage-mini-tiny — GenImage-mini, 3 generators, 288 images" or its build state. */
export function datasetLabel(dataset: DatasetSummary): string {
  if (dataset.state === 'building') {
    const build = dataset.build
    const step = build && build.total > 0 ? ` ${build.done}/${build.total}` : ''
    return `${dataset.name} — building (${build?.phase ?? 'starting'}${step}), not ready yet`
  }
  const kind = dataset.kind === 'genimage-mini' ? 'GenImage-mini, ' : ''
  const generators = `${dataset.generators.length} generator${dataset.generators.length === 1 ? '' : 's'}`
  return `${dataset.name} — ${kind}${generators}, ${dataset.images} images`
}

/** Images per class a generator holds for training and testing, as the generator checkboxes show it. */
export function generatorCounts(generator: DatasetSummary['generators'][number]): string {
  const train = Math.min(generator.train.ai, generator.train.nature)
  const val = Math.min(generator.val.ai, generator.val.nature)
  return `${train} train + ${val} val per class`
}

/** What the form says about a dataset that cannot be chosen yet. */
export const BUILDING_NOTE = 'it is offered here as soon as it is ready; experiments cannot use it before'
