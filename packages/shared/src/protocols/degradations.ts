import { DegradationId } from '../contracts/experiments.ts'

/** A parsed degradation id. */
export type Degradation = { kind: 'none' } | { kind: 'downscale'; size: number } | { kind: 'jpeg'; quality: number } | { kind: 'blur'; sigma: number }

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
