import { DegradationId } from '../contracts/experiments.ts'

/** A parsed degradation id. */
export type Degradation = { kind: 'none' } | { kind: 'downscale'; size: number } | { kind: 'jpeg'; quality: number } | { kind: 'blur'; sigma: number }

/** Table 5's six degradations as degradation ids, in the paper's column order (LR 112, LR 64, JPEG q65, q30, blur σ3, σ5). */
export const TABLE5_PAPER_COLUMNS = ['downscale-112', 'downscale-64', 'jpeg-65', 'jpeg-30', 'blur-3', 'blur-5'] as const
export type Table5PaperColumn = (typeof TABLE5_PAPER_COLUMNS)[number]

/** GenImage Table 5's test conditions of the SD V1.4 val set: the undegraded baseline, then the six degradations. */
export const TABLE5_DEGRADATIONS: readonly DegradationId[] = ['none', ...TABLE5_PAPER_COLUMNS]

/** Parses `downscale-112`, `jpeg-65`, `blur-3`, `none`; throws on anything else. */
export function parseDegradation(id: string): Degradation {
  const valid = DegradationId.safeParse(id)
  if (!valid.success) throw new Error(`invalid degradation "${id}": ${valid.error.issues[0]?.message}`)
  if (id === 'none') return { kind: 'none' }
  const [kind, value] = id.split('-') as [string, string]
  if (kind === 'downscale') return { kind, size: Number(value) }
  if (kind === 'jpeg') return { kind, quality: Number(value) }
  return { kind: 'blur', sigma: Number(value) }
}

/** The canonical id of a parsed degradation (`blur-3.0` parses and prints as `blur-3`). */
export function degradationId(degradation: Degradation): string {
  switch (degradation.kind) {
    case 'none':
      return 'none'
    case 'downscale':
      return `downscale-${degradation.size}`
    case 'jpeg':
      return `jpeg-${degradation.quality}`
    case 'blur':
      return `blur-${degradation.sigma}`
  }
}

/** The paper's wording for a degradation, for report headers. */
export function describeDegradation(id: string): string {
  const d = parseDegradation(id)
  switch (d.kind) {
    case 'none':
      return 'original'
    case 'downscale':
      return `downscale ${d.size}`
    case 'jpeg':
      return `JPEG q${d.quality}`
    case 'blur':
      return `blur σ=${d.sigma}`
  }
}

/**
 * Degradations combined, applied in the order downscale → blur → JPEG (what `genimage dataset degrade` takes as
 * `--downscale 112 --blur 3 --jpeg 65`). A Table 5 degradation is one step alone.
 */
export interface DegradationSteps {
  /** Resize so the shorter side is this many pixels, aspect kept (never enlarges). */
  downscale?: number
  /** Gaussian blur with this standard deviation in pixels. */
  blur?: number
  /** Encode as baseline JPEG at this quality. */
  jpeg?: number
}

/** The steps one degradation stands for; `none` is no step at all. */
export function degradationSteps(degradation: Degradation): DegradationSteps {
  switch (degradation.kind) {
    case 'none':
      return {}
    case 'downscale':
      return { downscale: degradation.size }
    case 'jpeg':
      return { jpeg: degradation.quality }
    case 'blur':
      return { blur: degradation.sigma }
  }
}
