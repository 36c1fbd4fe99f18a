import type { DegradationId, ExperimentSpec } from '../contracts/experiments.ts'
import { listZooModelNames } from '../zoo/index.ts'
import { TABLE5_DEGRADATIONS } from './degradations.ts'
import { paperGeneratorName } from './generators.ts'

/** The generator every single-source protocol trains on in the paper. */
export const PAPER_TRAIN_GENERATOR = 'SD V1.4'

/** A spec that cannot be expanded; `field` names the offending field of the spec. */
export class ProtocolError extends Error {
  override name = 'ProtocolError'
  readonly code = 'invalid_request'
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`)
  }
}

/** One run of an experiment: train `model` on `trainOn` with `seed`, then test on `testOn` × `degradations`. */
export interface PlannedRun {
  index: number
  model: string
  trainOn: string[]
  testOn: string[]
  degradations: DegradationId[]
  seed: number
}

function checkGenerators(field: string, names: readonly string[], known: readonly string[]): void {
  for (const name of names) {
    if (!known.includes(name)) throw new ProtocolError(field, `"${name}" is not a generator of the dataset (it holds: ${known.join(', ')})`)
  }
}

/** The generator folder standing for the paper's SD V1.4 (e.g. `SD_V1.4`, `SD V1.4`), if the dataset has one. */
export function findPaperTrainGenerator(generators: readonly string[]): string | undefined {
  return generators.find((g) => paperGeneratorName(g) === PAPER_TRAIN_GENERATOR)
}

function singleTrainSet(spec: ExperimentSpec): string[] {
  if (spec.trainOn) return spec.trainOn
  const sd14 = findPaperTrainGenerator(spec.generators)
  if (!sd14) throw new ProtocolError('trainOn', `the dataset has no ${PAPER_TRAIN_GENERATOR} subset; name the generator(s) to train on`)
  return [sd14]
}

/**
 * Expands a protocol into runs (train sets × models × seeds), each with its test sets and degradations.
 * - table3: train on SD V1.4 (or `trainOn`), test every generator, no degradation.
 * - table4: one model per generator, each tested on every generator.
 * - table5: train on SD V1.4, test its own val set undegraded and under the six Table 5 degradations.
 * - custom: `trainOn` as one train set, `testOn` (default all) and `degradations` (default none) as given.
 * Throws ProtocolError naming the field when the spec does not fit the dataset or the zoo.
 */
export function expandProtocol(spec: ExperimentSpec): PlannedRun[] {
  const zoo = listZooModelNames()
  spec.models.forEach((model, i) => {
    if (!zoo.includes(model)) throw new ProtocolError(`models.${i}`, `unknown model "${model}"; known: ${zoo.join(', ')}`)
  })
  if (new Set(spec.generators).size !== spec.generators.length) throw new ProtocolError('generators', 'names must be unique')
  if (spec.trainOn) checkGenerators('trainOn', spec.trainOn, spec.generators)
  if (spec.testOn) checkGenerators('testOn', spec.testOn, spec.generators)
  if (spec.protocol !== 'custom') {
    if (spec.testOn) throw new ProtocolError('testOn', `${spec.protocol} fixes its test sets; use protocol custom to choose them`)
    if (spec.degradations) throw new ProtocolError('degradations', `${spec.protocol} fixes its degradations; use protocol custom to choose them`)
  }
  let trainSets: string[][]
  let testOn: string[]
  let degradations: DegradationId[]
  switch (spec.protocol) {
    case 'table3':
      trainSets = [singleTrainSet(spec)]
      testOn = [...spec.generators]
      degradations = ['none']
      break
    case 'table4':
      if (spec.trainOn) throw new ProtocolError('trainOn', 'table4 trains one model per generator; use protocol custom to choose train sets')
      trainSets = spec.generators.map((g) => [g])
      testOn = [...spec.generators]
      degradations = ['none']
      break
    case 'table5':
      trainSets = [singleTrainSet(spec)]
      testOn = [...trainSets[0]!]
      degradations = [...TABLE5_DEGRADATIONS]
      break
    case 'custom':
      if (!spec.trainOn) throw new ProtocolError('trainOn', 'custom experiments name the generator(s) to train on')
      trainSets = [spec.trainOn]
      testOn = spec.testOn ?? [...spec.generators]
      degradations = spec.degradations ?? ['none']
      break
  }
  const runs: PlannedRun[] = []
  for (const trainOn of trainSets) {
    for (const model of spec.models) {
      for (const seed of spec.seeds) runs.push({ index: runs.length, model, trainOn, testOn, degradations: [...new Set(degradations)], seed })
    }
  }
  return runs
}
