import type { ExperimentProgressEvent } from '@genimage/shared'
import { isFinalState } from '@genimage/shared/db'

/** One reading of an experiment's progress, and a token that changes whenever anything in it does. */
export interface ProgressSnapshot {
  event: ExperimentProgressEvent
  version: string
}

/** Called with the latest snapshot on subscribing (once one is read), then on each change; `undefined` when the experiment is gone. */
export type ProgressListener = (snapshot: ProgressSnapshot | undefined) => void

interface Feed {
  listeners: Set<ProgressListener>
  latest?: ProgressSnapshot
  timer?: ReturnType<typeof setTimeout>
  stopped: boolean
}

export interface ProgressHubOptions {
  /** Reads one experiment's progress (one database round trip or two). */
  read: (id: string) => Promise<ProgressSnapshot | undefined>
  /** Wait between two reads of one experiment (default 500 ms). */
  pollMs?: number
  /** Called when a read fails; polling goes on. */
  onError?: (id: string, error: unknown) => void
}

/**
 * One poller per followed experiment, fanned out to every stream that follows it: 300 streams on one experiment
 * cost the database what one does. A poller starts with its first listener, reads every `pollMs`, tells listeners
 * only when the version changes, and stops when its last listener leaves or the experiment reaches a final state.
 */
export class ProgressHub {
  private readonly feeds = new Map<string, Feed>()
  private readonly pollMs: number

  constructor(private readonly options: ProgressHubOptions) {
    this.pollMs = options.pollMs ?? 500
  }

  /** Experiments being polled now. */
  get polling(): number {
    return this.feeds.size
  }

  /**
   * Follows `id`: `listener` gets the latest snapshot at once when the poller has one, then every change.
   * Returns the function that stops following.
   */
  subscribe(id: string, listener: ProgressListener): () => void {
    let feed = this.feeds.get(id)
    if (!feed) {
      feed = { listeners: new Set(), stopped: false }
      this.feeds.set(id, feed)
      feed.listeners.add(listener)
      void this.poll(id, feed)
    } else {
      feed.listeners.add(listener)
      if (feed.latest) listener(feed.latest)
    }
    const subscribed = feed
    return () => {
      subscribed.listeners.delete(listener)
      if (subscribed.listeners.size === 0) this.stop(id, subscribed)
    }
  }

  private stop(id: string, feed: Feed): void {
    feed.stopped = true
    clearTimeout(feed.timer)
    if (this.feeds.get(id) === feed) this.feeds.delete(id)
  }

  private async poll(id: string, feed: Feed): Promise<void> {
    if (feed.stopped) return
    let snapshot: ProgressSnapshot | undefined
    try {
      snapshot = await this.options.read(id)
    } catch (error) {
      this.options.onError?.(id, error)
      feed.timer = setTimeout(() => void this.poll(id, feed), this.pollMs)
      return
    }
    if (feed.stopped) return
    const changed = snapshot?.version !== feed.latest?.version || snapshot === undefined
    if (snapshot) feed.latest = snapshot
    if (changed) for (const listener of [...feed.listeners]) listener(snapshot)
    // A final state never changes again: the feed ends, and a later subscriber starts a fresh one that reads it once.
    if (!snapshot || isFinalState(snapshot.event.state)) return this.stop(id, feed)
    feed.timer = setTimeout(() => void this.poll(id, feed), this.pollMs)
  }
}

/** Counts open streams per caller and refuses beyond a limit. */
export class StreamSlots {
  private readonly open = new Map<string, number>()

  constructor(readonly limitPerCaller: number) {}

  /** Takes a slot for `caller`; false when it already holds `limitPerCaller`. */
  take(caller: string): boolean {
    const held = this.open.get(caller) ?? 0
    if (held >= this.limitPerCaller) return false
    this.open.set(caller, held + 1)
    return true
  }

  release(caller: string): void {
    const held = (this.open.get(caller) ?? 1) - 1
    if (held <= 0) this.open.delete(caller)
    else this.open.set(caller, held)
  }

  /** Streams `caller` holds open. */
  held(caller: string): number {
    return this.open.get(caller) ?? 0
  }
}
