import { createRequire } from 'node:module'
import { Tensor } from 'onnxruntime-node'

/** The synchronous native session that onnxruntime-node's async `InferenceSession` wraps. */
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void
  run(feeds: Record<string, Tensor>, fetches: Record<string, Tensor | null>, options: object): Record<string, Tensor>
  dispose(): void
}

/** What `loadOrtBinding` returns: the native session class and the one-time runtime set-up. */
export interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession }
  initOrt(): void
}

/** One input or output of a convolution graph: float32 values (may be a view of the wasm heap) and dims. */
export interface OrtOperand {
  data: Float32Array
  dims: readonly number[]
}

export interface OrtSessionCacheOptions {
  /** Threads of each session's intra-op pool. */
  threads: number
  /**
   * Sessions kept at most (each owns a thread pool of idle, non-spinning threads); the least recently used
   * one goes first. A training step cycles through its convolutions, so a bound below their number misses
   * every time (~3 ms to build a session). Default {@link DEFAULT_MAX_SESSIONS}.
   */
  maxSessions?: number
}

/** Sessions kept by default: the ResNet-18 bench step uses 31 (forward, input and filter gradient per shape). */
export const DEFAULT_MAX_SESSIONS = 128

const require = createRequire(import.meta.url)

/** Loads onnxruntime-node's native binding (throws when the package or its binary cannot load). */
export function loadOrtBinding(): NativeBinding {
  const native = require('onnxruntime-node/dist/binding.js') as NativeBinding
  native.initOrt()
  return native
}

/**
 * Sessions for small ONNX graphs, built on first use per key and kept in least-recently-used order, run
 * synchronously through the native binding. Inputs and outputs are named `in0`, `in1`, … and `out`.
 * Operands backed by a SharedArrayBuffer (the threaded wasm heap), which the binding rejects, are copied
 * through reusable scratch buffers; plain ArrayBuffer views are handed over without copying.
 * Sessions run without onnxruntime's memory arena (one arena per cached session held ~400 MB more in a
 * ResNet-18 step) and their thread pools do not spin between runs (spinning pools of idle sessions took the
 * cores from the wasm pool: ResNet-18 step 1.7 s → 3.4 s on 2 cores).
 */
export class OrtSessionCache {
  readonly threads: number
  readonly maxSessions: number
  private readonly native: NativeBinding
  private readonly sessions = new Map<string, NativeSession>()
  private readonly scratch: Float32Array[] = []
  private built = 0
  private readonly runsByOp = new Map<string, number>()

  constructor(native: NativeBinding, options: OrtSessionCacheOptions) {
    this.native = native
    this.threads = options.threads
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS
  }

  /** Sessions currently cached. */
  get size(): number {
    return this.sessions.size
  }

  /** Sessions created since this cache was made (cache misses). */
  get sessionsBuilt(): number {
    return this.built
  }

  /** Graph runs so far per operation: the cache key's first field (`conv`, `dx`, `dw`). */
  runs(op: string): number {
    return this.runsByOp.get(op) ?? 0
  }

  /** Runs the graph cached under `key` (built by `build` on a miss) and writes its one output into `output.data`. */
  run(key: string, build: () => Uint8Array, inputs: readonly OrtOperand[], output: OrtOperand): void {
    const session = this.session(key, build)
    const feeds: Record<string, Tensor> = {}
    for (const [slot, input] of inputs.entries()) {
      feeds[`in${slot}`] = new Tensor('float32', this.handOver(slot, input.data, true), input.dims)
    }
    const outSlot = inputs.length
    const target = this.handOver(outSlot, output.data, false)
    session.run(feeds, { out: new Tensor('float32', target, output.dims) }, {})
    if (target !== output.data) output.data.set(target)
    const op = key.slice(0, key.indexOf(','))
    this.runsByOp.set(op, this.runs(op) + 1)
  }

  /** Disposes every session and drops the scratch buffers. */
  clear(): void {
    for (const session of this.sessions.values()) session.dispose()
    this.sessions.clear()
    this.scratch.length = 0
  }

  private session(key: string, build: () => Uint8Array): NativeSession {
    const cached = this.sessions.get(key)
    if (cached != null) {
      this.sessions.delete(key)
      this.sessions.set(key, cached)
      return cached
    }
    const bytes = build()
    const session = new this.native.binding.InferenceSession()
    session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, {
      intraOpNumThreads: this.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      enableCpuMemArena: false,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    })
    this.built++
    this.sessions.set(key, session)
    while (this.sessions.size > this.maxSessions) {
      const [oldestKey, oldest] = this.sessions.entries().next().value as [string, NativeSession]
      this.sessions.delete(oldestKey)
      oldest.dispose()
    }
    return session
  }

  private handOver(slot: number, data: Float32Array, copyIn: boolean): Float32Array {
    if (!(data.buffer instanceof SharedArrayBuffer)) return data
    let buffer = this.scratch[slot]
    if (buffer == null || buffer.length < data.length) {
      buffer = new Float32Array(Math.max(data.length, Math.ceil((buffer?.length ?? 0) * 1.5)))
      this.scratch[slot] = buffer
    }
    const view = buffer.subarray(0, data.length)
    if (copyIn) view.set(data)
    return view
  }
}
