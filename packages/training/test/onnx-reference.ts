/**
 * Straightforward reference implementations of ONNX operators (float64 arithmetic over float32 data,
 * row-major), written from the operator definitions, to check what onnxruntime computes for graphs the
 * builder writes. Slow on purpose: plain loops, no tricks.
 */
export interface Ref {
  data: Float64Array
  dims: number[]
}

export function ref(data: ArrayLike<number>, dims: number[]): Ref {
  const size = dims.reduce((a, b) => a * b, 1)
  if (size !== data.length) throw new Error(`ref: dims ${dims} need ${size} values, got ${data.length}`)
  return { data: Float64Array.from(data), dims: [...dims] }
}

/** Deterministic uniform floats in [lo, hi) (mulberry32), rounded to float32. */
export function seededRandom(seed: number): (n: number, lo?: number, hi?: number) => Float32Array {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return (n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * next())
}

export function stridesOf(dims: readonly number[]): number[] {
  const strides = new Array<number>(dims.length).fill(1)
  for (let i = dims.length - 2; i >= 0; i--) strides[i] = strides[i + 1]! * dims[i + 1]!
  return strides
}

function indexToCoords(index: number, dims: readonly number[]): number[] {
  const coords = new Array<number>(dims.length)
  for (let i = dims.length - 1; i >= 0; i--) {
    coords[i] = index % dims[i]!
    index = Math.floor(index / dims[i]!)
  }
  return coords
}

function generate(dims: number[], at: (coords: number[]) => number): Ref {
  const size = dims.reduce((a, b) => a * b, 1)
  const data = new Float64Array(size)
  for (let i = 0; i < size; i++) data[i] = at(indexToCoords(i, dims))
  return { data, dims }
}

function get(t: Ref, coords: readonly number[]): number {
  let offset = 0
  const strides = stridesOf(t.dims)
  for (let i = 0; i < coords.length; i++) offset += coords[i]! * strides[i]!
  return t.data[offset]!
}

export function map(t: Ref, f: (v: number) => number): Ref {
  return { data: t.data.map(f), dims: [...t.dims] }
}

/** Numpy-style broadcasting of an element-wise binary function. */
export function broadcast(a: Ref, b: Ref, f: (x: number, y: number) => number): Ref {
  const rank = Math.max(a.dims.length, b.dims.length)
  const pad = (d: number[]) => [...new Array<number>(rank - d.length).fill(1), ...d]
  const da = pad(a.dims)
  const db = pad(b.dims)
  const dims = da.map((x, i) => {
    const y = db[i]!
    if (x !== y && x !== 1 && y !== 1) throw new Error(`cannot broadcast ${a.dims} with ${b.dims}`)
    return Math.max(x, y)
  })
  const pa = { data: a.data, dims: da }
  const pb = { data: b.data, dims: db }
  return generate(dims, (c) =>
    f(
      get(
        pa,
        c.map((v, i) => (da[i] === 1 ? 0 : v)),
      ),
      get(
        pb,
        c.map((v, i) => (db[i] === 1 ? 0 : v)),
      ),
    ),
  )
}

export interface ConvOptions {
  strides?: [number, number]
  pads?: [number, number, number, number]
  dilations?: [number, number]
  group?: number
}

/** 2-D convolution, NCHW input, weights [M, C/group, kH, kW], pads [top, left, bottom, right]. */
export function conv2d(x: Ref, w: Ref, bias: Ref | undefined, o: ConvOptions = {}): Ref {
  const [n, c, h, wd] = x.dims as [number, number, number, number]
  const [m, cg, kh, kw] = w.dims as [number, number, number, number]
  const [sh, sw] = o.strides ?? [1, 1]
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0]
  const [dh, dw] = o.dilations ?? [1, 1]
  const group = o.group ?? 1
  if (cg * group !== c) throw new Error('conv2d: channels do not match group')
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1
  const perGroupOut = m / group
  return generate([n, m, oh, ow], ([b, oc, oy, ox]) => {
    const g = Math.floor(oc! / perGroupOut)
    let sum = bias ? bias.data[oc!]! : 0
    for (let ic = 0; ic < cg; ic++) {
      for (let ky = 0; ky < kh; ky++) {
        const iy = oy! * sh - pt + ky * dh
        if (iy < 0 || iy >= h) continue
        for (let kx = 0; kx < kw; kx++) {
          const ix = ox! * sw - pl + kx * dw
          if (ix < 0 || ix >= wd) continue
          sum += get(x, [b!, g * cg + ic, iy, ix]) * get(w, [oc!, ic, ky, kx])
        }
      }
    }
    return sum
  })
}

export interface PoolOptions {
  kernel: [number, number]
  strides?: [number, number]
  pads?: [number, number, number, number]
  countIncludePad?: boolean
}

export function pool2d(x: Ref, kind: 'max' | 'average', o: PoolOptions): Ref {
  const [n, c, h, w] = x.dims as [number, number, number, number]
  const [kh, kw] = o.kernel
  const [sh, sw] = o.strides ?? [1, 1]
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0]
  const oh = Math.floor((h + pt + pb - kh) / sh) + 1
  const ow = Math.floor((w + pl + pr - kw) / sw) + 1
  return generate([n, c, oh, ow], ([b, ch, oy, ox]) => {
    let best = -Infinity
    let sum = 0
    let count = 0
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const iy = oy! * sh - pt + ky
        const ix = ox! * sw - pl + kx
        if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
          if (o.countIncludePad) count++
          continue
        }
        const v = get(x, [b!, ch!, iy, ix])
        best = Math.max(best, v)
        sum += v
        count++
      }
    }
    return kind === 'max' ? best : sum / count
  })
}

export function batchNorm(x: Ref, scale: Ref, bias: Ref, mean: Ref, variance: Ref, epsilon: number): Ref {
  return generate([...x.dims], (coords) => {
    const ch = coords[1]!
    return ((get(x, coords) - mean.data[ch]!) / Math.sqrt(variance.data[ch]! + epsilon)) * scale.data[ch]! + bias.data[ch]!
  })
}

export function transpose(x: Ref, perm: readonly number[]): Ref {
  const dims = perm.map((p) => x.dims[p]!)
  return generate(dims, (c) => {
    const source = new Array<number>(c.length)
    for (const [i, p] of perm.entries()) source[p] = c[i]!
    return get(x, source)
  })
}

/** [..., M, K] × [..., K, N] with broadcast batch dims (both operands at least 2-D). */
export function matmul(a: Ref, b: Ref): Ref {
  const m = a.dims.at(-2)!
  const k = a.dims.at(-1)!
  const n = b.dims.at(-1)!
  if (b.dims.at(-2) !== k) throw new Error('matmul: inner dims differ')
  const batchA = a.dims.slice(0, -2)
  const batchB = b.dims.slice(0, -2)
  const batch = broadcast(ref(new Array(product(batchA)).fill(0), batchA), ref(new Array(product(batchB)).fill(0), batchB), () => 0).dims
  const align = (bd: number[], c: number[]) => c.slice(c.length - bd.length).map((v, i) => (bd[i] === 1 ? 0 : v))
  return generate([...batch, m, n], (c) => {
    const outer = c.slice(0, -2)
    const [i, j] = c.slice(-2) as [number, number]
    let sum = 0
    for (let p = 0; p < k; p++) sum += get(a, [...align(batchA, outer), i, p]) * get(b, [...align(batchB, outer), p, j])
    return sum
  })
}

export function concat(parts: readonly Ref[], axis: number): Ref {
  const dims = [...parts[0]!.dims]
  dims[axis] = parts.reduce((s, p) => s + p.dims[axis]!, 0)
  return generate(dims, (c) => {
    let index = c[axis]!
    for (const part of parts) {
      if (index < part.dims[axis]!)
        return get(
          part,
          c.map((v, i) => (i === axis ? index : v)),
        )
      index -= part.dims[axis]!
    }
    throw new Error('concat: out of range')
  })
}

/** Slice with positive steps; starts/ends clamp as ONNX specifies (negative values count from the end). */
export function slice(x: Ref, starts: number[], ends: number[], axes: number[], steps: number[]): Ref {
  const begin = x.dims.map(() => 0)
  const step = x.dims.map(() => 1)
  const dims = [...x.dims]
  axes.forEach((axis, i) => {
    const size = x.dims[axis]!
    const clampIndex = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size)
    const s = clampIndex(starts[i]!)
    const e = clampIndex(ends[i]!)
    begin[axis] = s
    step[axis] = steps[i]!
    dims[axis] = Math.max(0, Math.ceil((e - s) / steps[i]!))
  })
  return generate(dims, (c) =>
    get(
      x,
      c.map((v, i) => begin[i]! + v * step[i]!),
    ),
  )
}

export function reduceMean(x: Ref, axes: readonly number[], keepdims: boolean): Ref {
  const normalized = axes.map((a) => (a < 0 ? a + x.dims.length : a))
  const keptDims = x.dims.map((d, i) => (normalized.includes(i) ? 1 : d))
  const count = normalized.reduce((p, a) => p * x.dims[a]!, 1)
  const sums = new Float64Array(product(keptDims))
  const keptStrides = stridesOf(keptDims)
  for (let i = 0; i < x.data.length; i++) {
    const c = indexToCoords(i, x.dims)
    let offset = 0
    for (const [d, v] of c.entries()) offset += (normalized.includes(d) ? 0 : v) * keptStrides[d]!
    sums[offset]! += x.data[i]!
  }
  const dims = keepdims ? keptDims : x.dims.filter((_, i) => !normalized.includes(i))
  return { data: sums.map((s) => s / count), dims }
}

export function softmax(x: Ref, axis: number): Ref {
  const a = axis < 0 ? axis + x.dims.length : axis
  return generate([...x.dims], (c) => {
    let max = -Infinity
    for (let i = 0; i < x.dims[a]!; i++)
      max = Math.max(
        max,
        get(
          x,
          c.map((v, d) => (d === a ? i : v)),
        ),
      )
    let sum = 0
    for (let i = 0; i < x.dims[a]!; i++)
      sum += Math.exp(
        get(
          x,
          c.map((v, d) => (d === a ? i : v)),
        ) - max,
      )
    return Math.exp(get(x, c) - max) / sum
  })
}

/** LayerNormalization over the axes from `axis` to the end, with per-element scale and bias. */
export function layerNorm(x: Ref, axis: number, scale: Ref, bias: Ref, epsilon: number): Ref {
  const a = axis < 0 ? axis + x.dims.length : axis
  const inner = product(x.dims.slice(a))
  const data = new Float64Array(x.data.length)
  for (let start = 0; start < x.data.length; start += inner) {
    const row = x.data.subarray(start, start + inner)
    const mean = row.reduce((s, v) => s + v, 0) / inner
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / inner
    for (let i = 0; i < inner; i++) data[start + i] = ((row[i]! - mean) / Math.sqrt(variance + epsilon)) * scale.data[i]! + bias.data[i]!
  }
  return { data, dims: [...x.dims] }
}

/** Nearest-neighbour resize of the last two axes by whole-number scales, asymmetric coordinates, floor. */
export function resizeNearest(x: Ref, scaleH: number, scaleW: number): Ref {
  const dims = [...x.dims]
  dims[dims.length - 2]! *= scaleH
  dims[dims.length - 1]! *= scaleW
  return generate(dims, (c) => {
    const source = [...c]
    source[c.length - 2] = Math.floor(c[c.length - 2]! / scaleH)
    source[c.length - 1] = Math.floor(c[c.length - 1]! / scaleW)
    return get(x, source)
  })
}

/** erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7). */
export function erf(v: number): number {
  const sign = Math.sign(v)
  const x = Math.abs(v)
  const t = 1 / (1 + 0.3275911 * x)
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
  return sign * (1 - poly * Math.exp(-x * x))
}

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1)
}

/** Largest absolute difference; throws when the shapes differ. */
export function maxAbsDiff(actual: { data: ArrayLike<number>; dims: readonly number[] }, expected: Ref): number {
  if (actual.dims.join(',') !== expected.dims.join(',')) {
    throw new Error(`shape [${actual.dims.join(', ')}] differs from the reference [${expected.dims.join(', ')}]`)
  }
  let worst = 0
  for (let i = 0; i < expected.data.length; i++) worst = Math.max(worst, Math.abs(Number(actual.data[i]) - expected.data[i]!))
  return worst
}
