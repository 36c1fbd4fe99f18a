import { createHash } from 'node:crypto'

/** A seeded pseudo-random source: `next()` returns a float in [0, 1). */
export interface Random {
  next(): number
  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number
  /** Standard normal sample (Box–Muller). */
  normal(): number
}

/**
 * A deterministic random stream for one purpose, derived from the build seed and a list of keys
 * (e.g. `streamFor(7, 'RDN-slim', 'train', 'ai', 12)`). Each item owns its own stream, so results
 * do not depend on the order in which items are produced or on which ones a resumed run skips.
 */
export function streamFor(seed: number, ...keys: Array<string | number>): Random {
  const digest = createHash('sha256')
    .update(JSON.stringify([seed, ...keys]))
    .digest()
  return sfc32(digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12))
}

function sfc32(a: number, b: number, c: number, d: number): Random {
  const next = (): number => {
    a >>>= 0
    b >>>= 0
    c >>>= 0
    d >>>= 0
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  for (let i = 0; i < 12; i++) next()
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    normal: () => {
      const u = 1 - next()
      const v = next()
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
    },
  }
}
