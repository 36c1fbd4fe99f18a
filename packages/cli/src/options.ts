import { InvalidArgumentError, Option } from 'commander'

/**
 * The option and argument parsers every `genimage` command uses, for commander's `.argParser()` and the parse
 * argument of `.option()`. A bad value throws {@link OptionValueError}: commander prints
 * `error: option '--epochs <n>' argument 'x' is invalid. It must be a positive integer.` and the command exits
 * with the usage status (2, see `exit-codes.ts`).
 */
export class OptionValueError extends InvalidArgumentError {
  /** What a valid value is, e.g. `a positive integer`. */
  readonly requirement: string
  constructor(requirement: string) {
    super(`It must be ${requirement}.`)
    this.requirement = requirement
  }
}

/** Bounds of a numeric option, both inclusive. */
export interface NumberRange {
  min?: number
  max?: number
}

function describeRange(kind: 'integer' | 'number', { min, max }: NumberRange): string {
  if (min !== undefined && max !== undefined) return `${kind === 'integer' ? 'an integer' : 'a number'} from ${min} to ${max}`
  if (min === 1 && kind === 'integer') return 'a positive integer'
  if (min === 0) return `a non-negative ${kind}`
  if (min !== undefined) return `${kind === 'integer' ? 'an integer' : 'a number'} ≥ ${min}`
  if (max !== undefined) return `${kind === 'integer' ? 'an integer' : 'a number'} ≤ ${max}`
  return kind === 'integer' ? 'an integer' : 'a number'
}

function numberParser(kind: 'integer' | 'number', range: NumberRange): (text: string) => number {
  const requirement = describeRange(kind, range)
  return (text) => {
    const value = text.trim() === '' ? Number.NaN : Number(text)
    const whole = kind === 'integer' ? Number.isSafeInteger(value) : Number.isFinite(value)
    if (!whole || (range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max)) throw new OptionValueError(requirement)
    return value
  }
}

/** Whole numbers within `range` (no bounds by default). */
export const integer = (range: NumberRange = {}) => numberParser('integer', range)
/** Finite numbers within `range` (no bounds by default). */
export const decimal = (range: NumberRange = {}) => numberParser('number', range)

/** 1, 2, 3 …: counts, sizes, epochs, milliseconds. */
export const positiveInteger = integer({ min: 1 })
/** 0, 1, 2 …: seeds. */
export const nonNegativeInteger = integer({ min: 0 })
/** Learning rates, weight decay. */
export const nonNegativeNumber = decimal({ min: 0 })
/** Fractions such as a centre-crop percentage. */
export const fraction = decimal({ min: 0, max: 1 })
/** JPEG quality. */
export const jpegQuality = integer({ min: 1, max: 100 })

/** `a, b,c` → `['a', 'b', 'c']` (blanks dropped); an empty list is refused. */
export function commaList(text: string): string[] {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
  if (items.length === 0) throw new OptionValueError('a comma-separated list')
  return items
}

/** A comma-separated list whose items each pass `item`, e.g. `listOf(nonNegativeInteger)` for `--seeds 0,1,2`. */
export function listOf<T>(item: (text: string) => T): (text: string) => T[] {
  return (text) =>
    commaList(text).map((part) => {
      try {
        return item(part)
      } catch (error) {
        if (error instanceof OptionValueError) throw new OptionValueError(`a comma-separated list of ${error.requirement.replace(/^an? /, '')}s`)
        throw error
      }
    })
}

/** `0.485,0.456,0.406` → three finite numbers (per-channel mean or std). */
export function numberTriple(text: string): [number, number, number] {
  const values = text.split(',').map((part) => (part.trim() === '' ? Number.NaN : Number(part)))
  if (values.length !== 3 || values.some((v) => !Number.isFinite(v))) throw new OptionValueError('three comma-separated numbers')
  return values as [number, number, number]
}

/** Parses `600`, `600/min`, `10/s` or `120/hour` into requests per minute (a positive whole number). */
export function requestsPerMinute(text: string): number {
  const match = /^\s*(\d+)\s*(?:\/\s*(s|sec|second|m|min|minute|h|hour))?\s*$/i.exec(text)
  if (!match) throw new OptionValueError('N, N/min, N/s or N/hour')
  const n = Number(match[1])
  const unit = (match[2] ?? 'min').toLowerCase()
  const perMinute = unit.startsWith('s') ? n * 60 : unit.startsWith('h') ? n / 60 : n
  if (!Number.isInteger(perMinute) || perMinute <= 0) throw new OptionValueError('a positive whole number of requests per minute')
  return perMinute
}

/**
 * The tfjs backends `--backend` accepts: `TF_BACKEND_NAMES` of `@genimage/training/tf`, repeated here so that defining
 * the option does not load tfjs (a test keeps the two lists equal).
 */
export const TF_BACKEND_CHOICES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const
/** The environment variable `TF_BACKEND_ENV` of `@genimage/training/tf` names (checked by the same test). */
export const TF_BACKEND_ENV_NAME = 'GENIMAGE_TF_BACKEND'

/** `--backend <name>`: the tfjs backend to try first, shared by `genimage train` and `genimage experiment worker`. */
export function tfBackendOption(): Option {
  return new Option(
    '--backend <name>',
    `tfjs backend to use first (default: ${TF_BACKEND_ENV_NAME}, else auto: by priority); webgpu on a software adapter (lavapipe) runs only when named`,
  ).choices([...TF_BACKEND_CHOICES, 'auto'])
}
