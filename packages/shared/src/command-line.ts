/** Characters a POSIX shell reads literally anywhere in a word. */
const SAFE_WORD = /^[\w@%+:,./-]+$/

/** Quotes one word for a POSIX shell: as is when it holds only safe characters, else in single quotes. */
export function shellQuote(word: string): string {
  if (SAFE_WORD.test(word)) return word
  return `'${word.replaceAll("'", `'\\''`)}'`
}

/** Joins words into one command line that a POSIX shell splits back into exactly those words. */
export function commandLine(words: readonly string[]): string {
  return words.map(shellQuote).join(' ')
}

/** The settings of one training run that decide its result, in `genimage train`'s terms. */
export interface TrainRunSettings {
  model: string
  /** Dataset root: `<root>/<Generator>/{train,val}/{ai,nature}`. */
  data: string
  trainOn: readonly string[]
  /** Generators scored each epoch (default: all). */
  valOn?: readonly string[]
  /** Image lists from a manifest: `true` for the root's own, else its URL. */
  manifest?: string | true
  task?: 'binary' | 'attribution'
  epochs: number
  batchSize: number
  seed: number
  optimizer?: 'sgd' | 'adamw'
  learningRate?: number
  weightDecay?: number
  earlyStop?: number
  limitPerClass?: number
  /** JPEG quality all training images were re-encoded at first. */
  jpegAlign?: number
  /** Model folder written. */
  out?: string
}

/**
 * The `npx genimage train …` command that reproduces a run, as written into model cards: by the CLI and by the
 * experiment job worker alike. Every word is quoted for a POSIX shell.
 *
 * @example
 * trainCommandLine({ model: 'npr-tiny', data: '/data/GenImage', trainOn: ['SD V1.4'], epochs: 5, batchSize: 16, seed: 0 })
 * // "npx genimage train --model npr-tiny --data /data/GenImage --train-on 'SD V1.4' --epochs 5 --batch-size 16 --seed 0"
 */
export function trainCommandLine(run: TrainRunSettings): string {
  const words = ['npx', 'genimage', 'train', '--model', run.model, '--data', run.data, '--train-on', run.trainOn.join(',')]
  const flag = (name: string, value: string | number | undefined) => {
    if (value !== undefined) words.push(name, String(value))
  }
  flag('--val-on', run.valOn?.join(','))
  if (run.manifest === true) words.push('--manifest')
  else flag('--manifest', run.manifest)
  flag('--task', run.task)
  flag('--epochs', run.epochs)
  flag('--batch-size', run.batchSize)
  flag('--seed', run.seed)
  flag('--optimizer', run.optimizer)
  flag('--lr', run.learningRate)
  flag('--weight-decay', run.weightDecay)
  flag('--early-stop', run.earlyStop)
  flag('--limit-per-class', run.limitPerClass)
  flag('--jpeg-align', run.jpegAlign)
  flag('--out', run.out)
  return commandLine(words)
}
