import { ExperimentSpec, type ExperimentSpecInput, type RunProgress, type RunState } from '@genimage/shared'

/** The experiment form's fields as typed (all text), by the spec field they fill. */
export interface ExperimentFormValues {
  protocol: string
  name: string
  models: string
  dataRoot: string
  generators: string
  trainOn: string
  epochs: string
  batchSize: string
  seeds: string
  limitPerClass: string
  testLimitPerClass: string
}

export const DEFAULT_FORM: ExperimentFormValues = {
  protocol: 'table4',
  name: '',
  models: 'npr-tiny',
  dataRoot: '',
  generators: '',
  trainOn: '',
  epochs: '3',
  batchSize: '16',
  seeds: '0',
  limitPerClass: '',
  testLimitPerClass: '',
}

/** One problem with the spec, as `POST /v1/experiments` reports it in `details.issues`. */
export interface SpecIssue {
  field: string
  message: string
}

const list = (text: string) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
const number = (text: string) => (text.trim() === '' ? undefined : Number(text.trim()))

/** The JSON body the form stands for; empty optional fields are left out, so the contract's defaults apply. */
export function specBody(values: ExperimentFormValues): ExperimentSpecInput {
  const body: Record<string, unknown> = {
    protocol: values.protocol,
    models: list(values.models),
    dataRoot: values.dataRoot.trim(),
    generators: list(values.generators),
  }
  if (values.name.trim()) body.name = values.name.trim()
  if (values.trainOn.trim()) body.trainOn = list(values.trainOn)
  if (values.seeds.trim()) body.seeds = list(values.seeds).map(Number)
  for (const field of ['epochs', 'batchSize', 'limitPerClass', 'testLimitPerClass'] as const) {
    const value = number(values[field])
    if (value !== undefined) body[field] = value
  }
  return body as ExperimentSpecInput
}

/**
 * Validates the body with the same zod contract as the API and words every issue the same way (`field` is the
 * dotted path, e.g. `models.1`), so the form shows what the API would answer before anything is sent.
 */
export function specIssues(body: unknown): SpecIssue[] {
  const parsed = ExperimentSpec.safeParse(body)
  if (parsed.success) return []
  return parsed.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message }))
}

const FINAL: readonly RunState[] = ['succeeded', 'failed', 'cancelled']

/** How far one run is, in [0, 1]: training is most of it, then export, then scoring the test cells. */
export function runFraction(run: { state: RunState; progress: RunProgress }): number {
  if (FINAL.includes(run.state)) return 1
  const p = run.progress
  if (p.phase === 'training') return 0.85 * (p.totalSteps ? Math.min(1, p.step / p.totalSteps) : 0)
  if (p.phase === 'exporting') return 0.85
  if (p.phase === 'evaluating') return 0.85 + 0.15 * (p.cellsTotal ? p.cellsDone / p.cellsTotal : 0)
  return p.phase === 'done' ? 0.99 : 0
}

/** Whole percent done over all runs; 100 only once every run has ended. */
export function experimentPercent(runs: ReadonlyArray<{ state: RunState; progress: RunProgress }>): number {
  if (!runs.length) return 0
  if (runs.every((r) => FINAL.includes(r.state))) return 100
  return Math.min(99, Math.floor((100 * runs.reduce((sum, r) => sum + runFraction(r), 0)) / runs.length))
}
